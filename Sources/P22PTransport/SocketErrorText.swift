#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix

/// "connection refused" or "address already in use" rather than NIO's nested
/// error dump with system-call names: what a user can act on.
public func describeSocketError(_ error: Error) -> String {
    if let connection = error as? NIOConnectionError, let first = connection.connectionErrors.first {
        return describeSocketError(first.error)
    }
    if case ChannelError.connectTimeout(let limit) = error { return "timed out after \(limit.nanoseconds / 1_000_000_000) s" }
    if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
    return "\(error)"
}

/// Why a connection to `place` (a target, as host:port) failed, as a
/// sentence about it: "nothing listens on 127.0.0.1:8001" rather than
/// "connection refused".
public func describeConnectFailure(to place: String, _ error: Error) -> String {
    if let connection = error as? NIOConnectionError {
        if let first = connection.connectionErrors.first { return describeConnectFailure(to: place, first.error) }
        return unresolvable(connection.host)
    }
    if let unknown = error as? SocketAddressError.UnknownHost { return unresolvable(unknown.host) }
    if case ChannelError.connectTimeout(let limit) = error {
        return "connection to \(place) timed out after \(limit.nanoseconds / 1_000_000_000) s"
    }
    if let io = error as? IOError {
        switch io.errnoCode {
        case ECONNREFUSED: return "nothing listens on \(place)"
        case ETIMEDOUT: return "connection to \(place) timed out"
        case EHOSTUNREACH, ENETUNREACH: return "\(place) cannot be reached from here (no route)"
        default: break
        }
    }
    return "\(place): \(describeSocketError(error))"
}

private func unresolvable(_ host: String) -> String {
    "the name \(host) does not resolve to an address (check its spelling and this machine's DNS)"
}
