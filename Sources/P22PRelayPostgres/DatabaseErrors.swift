import NIOCore
import NIOPosix
import P22PTransport
import PostgresNIO

/// Database failures as sentences about the operator's world; the library's
/// own dump goes to the debug log.
enum DatabaseErrors {
    static func describe(_ error: any Error, at location: PostgresLocation) -> String {
        let place = readableAddress(host: location.host, port: location.port)
        switch error {
        case let passed as DeadlinePassed:
            return "\(location) did not answer within \(passed.limit.components.seconds) s"
        case let transaction as PostgresTransactionError:
            if let inner = transaction.beginError ?? transaction.closureError ?? transaction.commitError {
                return describe(inner, at: location)
            }
            return "a transaction on \(location) failed"
        case let failure as PSQLError:
            if let message = failure.serverInfo?[.message] {
                return "\(location) says: \(message)"
            }
            if let underlying = failure.underlying {
                return describe(underlying, at: location)
            }
            switch failure.code {
            case .serverClosedConnection, .uncleanShutdown:
                return "\(location) closed the connection (is it restarting?)"
            case .authMechanismRequiresPassword:
                return "\(location) asks for a password; put it in PGPASSWORD or the URL"
            case .sslUnsupported:
                return "\(location) does not offer TLS; use sslmode=prefer or sslmode=disable"
            default:
                return "\(location) failed: \(failure.code)"
            }
        case let connect as NIOConnectionError:
            if let first = connect.connectionErrors.first?.error { return describe(first, at: location) }
            return "cannot connect to \(place): no address answered"
        case let io as IOError where io.errnoCode == ECONNREFUSED:
            return "nothing listens on \(place) (is PostgreSQL running?)"
        case let io as IOError:
            return "cannot reach \(place): \(String(cString: strerror(io.errnoCode)))"
        case is ChannelError:
            return "the connection to \(place) broke"
        default:
            return "\(location) failed: \(error)"
        }
    }
}
