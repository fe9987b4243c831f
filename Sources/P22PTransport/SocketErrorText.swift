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
    if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
    return "\(error)"
}
