import Foundation
import NIOConcurrencyHelpers
import NIOCore
import P22PClient
import P22PTransport
import P22PWire

/// Everything the status endpoint tells: the daemon's group sessions, asked
/// afresh for each request, and each forward's traffic sampled every
/// `interval` for its rates. Peers are pinged now and then, so the page can
/// show a round trip.
final class StatusBoard: Sendable {
    let profilePath: String
    let interval: TimeAmount
    /// Samples kept per forward: five minutes' worth.
    let capacity: Int
    private let state = NIOLockedValueBox(State())

    private struct State {
        var sessions: [GroupSession] = []
        var histories: [String: ForwardHistory] = [:]
        var samplesTaken = 0
    }

    init(profilePath: String, interval: TimeAmount = .seconds(2), window: TimeAmount = .seconds(300)) {
        self.profilePath = URL(fileURLWithPath: profilePath).standardizedFileURL.path
        self.interval = interval
        self.capacity = Int(window.nanoseconds / interval.nanoseconds)
    }

    /// The sessions to report, in the profile's order; called when they change.
    func show(_ sessions: [GroupSession]) {
        state.withLockedValue { $0.sessions = sessions }
    }

    /// Samples every forward's counters; pings every peer each
    /// `pingEvery` samples. Runs until `stop` is cancelled.
    func startSampling(on loop: EventLoop, pingEvery: Int = 8) -> RepeatedTask {
        loop.scheduleRepeatedAsyncTask(initialDelay: .zero, delay: interval) { _ in
            let (sessions, round) = self.state.withLockedValue { state in
                state.samplesTaken += 1
                return (state.sessions, state.samplesTaken)
            }
            let time = Date().timeIntervalSince1970
            let statuses = sessions.map { $0.status() }
            return EventLoopFuture.whenAllComplete(statuses, on: loop).map { results in
                self.state.withLockedValue { state in
                    var seen = Set<String>()
                    for case .success(let status) in results {
                        for forward in status.forwards {
                            let key = Self.key(status.group, forward)
                            seen.insert(key)
                            let (bytesIn, bytesOut) = forward.datagrams.map { ($0.bytesFromPeer, $0.bytesToPeer) }
                                ?? (forward.traffic.bytesIn, forward.traffic.bytesOut)
                            state.histories[key, default: ForwardHistory(capacity: self.capacity)]
                                .record(time: time, bytesIn: bytesIn, bytesOut: bytesOut)
                        }
                    }
                    state.histories = state.histories.filter { seen.contains($0.key) }
                }
                for (session, result) in zip(sessions, results) {
                    guard case .success(let status) = result else { continue }
                    // A peer with no round trip yet is pinged at once.
                    for peer in status.peers where peer.sessionUp && (peer.lastRoundTrip == nil || round % pingEvery == 0) {
                        _ = session.withMember { $0.ping(.cid(peer.peer.cid)) }
                    }
                }
            }
        }
    }

    private static func key(_ group: String, _ forward: ForwardStatus) -> String { "\(group)\u{0}\(forward.spec)" }

    /// The document, from the sessions as they are now.
    func document(on loop: EventLoop) -> EventLoopFuture<StatusDocument> {
        let sessions = state.withLockedValue { $0.sessions }
        return EventLoopFuture.whenAllSucceed(sessions.map { $0.status() }, on: loop).map { statuses in
            let histories = self.state.withLockedValue { $0.histories }
            let groups = statuses.map { status in
                StatusDocument.Group(
                    name: status.group, relay: status.relay,
                    member: StatusDocument.Member(name: status.member?.name ?? status.memberName, cid: status.member.map { Int($0.cid.rawValue) }),
                    link: StatusDocument.Link(state: status.link.rawValue, since: status.since, lastError: status.lastError),
                    peers: status.peers.map { peer in
                        StatusDocument.Peer(name: peer.peer.name, cid: Int(peer.peer.cid.rawValue), sessionUp: peer.sessionUp,
                                            roundTripMs: peer.lastRoundTrip.map { Double($0.nanoseconds) / 1_000_000 })
                    },
                    forwards: status.forwards.map { forward in
                        StatusDocument.Forward(forward, rates: histories[Self.key(status.group, forward)]?.rates ?? ForwardHistory.Rates())
                    })
            }
            return StatusDocument(version: P22PVersion.current, profile: self.profilePath, time: Date(),
                                  sampleInterval: Double(self.interval.nanoseconds) / 1e9, groups: groups)
        }
    }

    /// Prometheus text for the forwards, appended to the process's metrics.
    static func prometheus(_ document: StatusDocument) -> String {
        var lines = [
            "# HELP p22p_forward_bytes_total Bytes a forward carried, by direction (in: from the peer).",
            "# TYPE p22p_forward_bytes_total counter",
        ]
        var connections = [
            "# HELP p22p_forward_connections Connections (TCP) or flows (UDP) open on a forward.",
            "# TYPE p22p_forward_connections gauge",
        ]
        var up = [
            "# HELP p22p_group_joined Whether the group's link is joined (1) or not (0).",
            "# TYPE p22p_group_joined gauge",
        ]
        for group in document.groups {
            up.append("p22p_group_joined{group=\"\(escape(group.name))\"} \(group.link.state == "joined" ? 1 : 0)")
            for forward in group.forwards {
                let labels = "group=\"\(escape(group.name))\",listen=\"\(escape(forward.listen))\",peer=\"\(escape(forward.peer))\",protocol=\"\(forward.protocol)\""
                lines.append("p22p_forward_bytes_total{\(labels),direction=\"in\"} \(forward.bytesIn)")
                lines.append("p22p_forward_bytes_total{\(labels),direction=\"out\"} \(forward.bytesOut)")
                connections.append("p22p_forward_connections{\(labels)} \(forward.connections)")
            }
        }
        return (lines + connections + up).joined(separator: "\n") + "\n"
    }

    private static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
