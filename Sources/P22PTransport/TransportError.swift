import NIOCore
import NIOWebSocket

/// Why a WebSocket link ended, in words for a log line.
public enum TransportError: Error, Equatable, CustomStringConvertible {
    case keepaliveTimeout(seconds: Int64)
    case textFrame
    case closedByPeer(code: UInt16?, reason: String)

    public var description: String {
        switch self {
        case .keepaliveTimeout(let seconds): "no sign of life for \(seconds) s (keepalive timeout)"
        case .textFrame: "text WebSocket frame (only binary frames are part of p22p.v1)"
        case .closedByPeer(let code, let reason):
            "closed by peer" + (code.map { " (code \($0))" } ?? "") + (reason.isEmpty ? "" : ": \(reason)")
        }
    }
}
