import Foundation

/// `p22p-up status` as one table: a row per group's link, per peer and per
/// forward, with state and byte counts.
public enum StatusTable {
    public static func render(_ document: StatusDocument, now: Date = Date()) -> String {
        var rows = [["GROUP", "WHAT", "NAME", "STATE", "CONNS", "IN", "OUT", "RATE"]]
        for group in document.groups {
            let member = group.member.cid.map { "\(group.member.name) (CID \($0))" } ?? group.member.name
            var state = "\(group.link.state) for \(duration(now.timeIntervalSince(group.link.since)))"
            if group.link.state != "joined", let error = group.link.lastError { state += ": \(error)" }
            rows.append([group.name, "link", "\(member) via \(group.relay)", state, "", "", "", ""])
            for peer in group.peers {
                let roundTrip = peer.roundTripMs.map { String(format: ", %.2f ms", $0) } ?? ""
                rows.append([group.name, "peer", "\(peer.name) (CID \(peer.cid))", (peer.sessionUp ? "session up" : "no session yet") + roundTrip,
                             "", "", "", ""])
            }
            for forward in group.forwards {
                let udp = forward.protocol == "udp" ? "/udp" : ""
                rows.append([group.name, "forward", "\(forward.listen)\(udp) -> \(forward.peer) \(forward.target)\(udp)", forward.state,
                             "\(forward.connections)", bytes(forward.bytesIn), bytes(forward.bytesOut), bytes(Int(forward.rateIn + forward.rateOut)) + "/s"])
            }
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }

    /// 4194304 reads 4.0 MiB; below 1 KiB, plain bytes.
    public static func bytes(_ count: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func duration(_ seconds: TimeInterval) -> String {
        let whole = max(0, Int(seconds))
        if whole < 90 { return "\(whole) s" }
        if whole < 5400 { return "\(whole / 60) min" }
        return "\(whole / 3600) h"
    }
}
