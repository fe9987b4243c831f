#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A Unix datagram socket that collects what it receives: stands in for the
/// systemd journal and for systemd's notify socket.
final class DatagramReceiver: @unchecked Sendable {  // all `let`: a descriptor and a locked recorder
    let path: String
    private let fd: Int32
    let received = Recorder()

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("p22p-dgram-\(UUID().uuidString.prefix(8))").path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw SocketError("cannot bind \(path)") }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let descriptor = fd
        let received = self.received
        Thread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, 65536, 0) }
                if count > 0 {
                    received.add(String(decoding: buffer[0..<count], as: UTF8.self))
                } else if count < 0, errno != EAGAIN, errno != EINTR {
                    return
                }
            }
        }.start()
    }

    /// Waits for a datagram containing `text`.
    func wait(for text: String, timeout: TimeInterval = 15) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let found = received.all.first(where: { $0.contains(text) }) { return found }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        throw SocketError("no datagram with \"\(text)\" within \(timeout) s; got \(received.all.suffix(5))")
    }

    func stop() {
        close(fd)
        unlink(path)
    }
}

/// A free loopback TCP port (bound and released; fine for tests that start
/// a process on it right away).
func freePort() throws -> Int {
    let server = try TCPTestServer { _ in }
    server.stop()
    return server.port
}

/// The repository's root, found from this file's path.
let repositoryRoot: URL = {
    var url = URL(fileURLWithPath: #filePath)
    while url.pathComponents.count > 1, !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
        url.deleteLastPathComponent()
    }
    return url
}()
