import Metrics

/// UDP figures through swift-metrics, for a process that exports them
/// (`p22p-up` with `status: { listen: … }` serves them at /metrics). Made on
/// first use, after the process chose its metrics backend; without one they
/// cost a no-op call.
enum DatagramMetrics {
    static let datagramsToPeer = Counter(label: "p22p_udp_datagrams_total", dimensions: [("direction", "to_peer")])
    static let datagramsFromPeer = Counter(label: "p22p_udp_datagrams_total", dimensions: [("direction", "from_peer")])
    static let bytesToPeer = Counter(label: "p22p_udp_bytes_total", dimensions: [("direction", "to_peer")])
    static let bytesFromPeer = Counter(label: "p22p_udp_bytes_total", dimensions: [("direction", "from_peer")])
    static let flows = Meter(label: "p22p_udp_flows")

    static func dropped(_ kind: DatagramDrop) -> Counter {
        switch kind {
        case .tooBig: droppedTooBig
        case .busy: droppedBusy
        case .noPeer: droppedNoPeer
        case .refused: droppedRefused
        }
    }

    private static let droppedTooBig = Counter(label: "p22p_udp_datagrams_dropped_total", dimensions: [("reason", "too_big")])
    private static let droppedBusy = Counter(label: "p22p_udp_datagrams_dropped_total", dimensions: [("reason", "link_busy")])
    private static let droppedNoPeer = Counter(label: "p22p_udp_datagrams_dropped_total", dimensions: [("reason", "no_peer")])
    private static let droppedRefused = Counter(label: "p22p_udp_datagrams_dropped_total", dimensions: [("reason", "refused")])
}
