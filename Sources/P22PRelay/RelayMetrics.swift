import Metrics
import NIOConcurrencyHelpers

/// What the relay reports through swift-metrics. Counters are created once
/// (a metric object per event would cost an allocation on the data path);
/// the gauges are refreshed from the relay's state when someone scrapes.
final class RelayMetrics: Sendable {
    private let framesRelayed = Counter(label: "p22p_relay_frames_relayed_total")
    private let bytesRelayed = Counter(label: "p22p_relay_bytes_relayed_total")
    private let connectionsAccepted = Counter(label: "p22p_relay_connections_accepted_total")
    private let refusals = NIOLockedValueBox<[String: Counter]>([:])
    private let disconnects = NIOLockedValueBox<[String: Counter]>([:])
    let connections = Gauge(label: "p22p_relay_connections")
    let groups = Gauge(label: "p22p_relay_groups")
    let members = Gauge(label: "p22p_relay_members")
    let bufferedBytes = Gauge(label: "p22p_relay_buffered_bytes")
    let reservations = Gauge(label: "p22p_relay_reservations")

    func relayed(bytes: Int) {
        framesRelayed.increment()
        bytesRelayed.increment(by: bytes)
    }

    func accepted() { connectionsAccepted.increment() }

    func refused(_ reason: String) { Self.counter(reason, in: refusals, label: "p22p_relay_refusals_total").increment() }

    func disconnected(_ reason: String) { Self.counter(reason, in: disconnects, label: "p22p_relay_disconnects_total").increment() }

    private static func counter(_ reason: String, in table: NIOLockedValueBox<[String: Counter]>, label: String) -> Counter {
        table.withLockedValue { counters in
            if let existing = counters[reason] { return existing }
            let counter = Counter(label: label, dimensions: [("reason", reason)])
            counters[reason] = counter
            return counter
        }
    }
}
