import Foundation

/// The Unix socket of a status endpoint: a socket file left by a daemon that
/// died is removed; one that a running daemon answers on is not taken over.
public enum StatusSocket {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func clear(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw DaemonError("cannot serve status on \(path): a file that is not a socket is there; remove it or choose another path")
        }
        if let socket = try? connect(path) {
            close(socket)
            throw DaemonError("cannot serve status on \(path): another p22p-up answers there; stop it, or give this profile another status.listen")
        }
        unlink(path)
    }

    /// A connected stream socket to `path`; the caller closes it.
    public static func connect(_ path: String) throws -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw Failure(description: "the socket path is longer than \(MemoryLayout.size(ofValue: address.sun_path) - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let socket = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: String(cString: strerror(errno))) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let reason = errno == ECONNREFUSED || errno == ENOENT ? "nothing listens there" : String(cString: strerror(errno))
            close(socket)
            throw Failure(description: reason)
        }
        return socket
    }
}
