#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Crypto

/// Plain blocking POSIX sockets: the "real TCP programs" at both ends of a
/// forward, independent of the NIO code under test.
final class TCPConnection: @unchecked Sendable {  // only a descriptor; each test uses a connection from one task at a time
    let fd: Int32

    init(fd: Int32) { self.fd = fd }

    static func connect(port: Int, timeoutSeconds: Int = 30) throws -> TCPConnection {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket: \(errno)") }
        var address = loopback(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            throw SocketError("connect to \(port): \(String(cString: strerror(code)))")
        }
        let connection = TCPConnection(fd: fd)
        connection.setTimeout(seconds: timeoutSeconds)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return connection
    }

    func setTimeout(seconds: Int) {
        var time = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw SocketError("send: \(String(cString: strerror(errno)))") }
            offset += sent
        }
    }

    /// Reads up to `max` bytes; empty means EOF. Throws on reset or timeout.
    func receive(max: Int = 65536) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, max, 0) }
        guard count >= 0 else { throw SocketError(errno == ECONNRESET ? "reset" : "recv: \(String(cString: strerror(errno)))") }
        return Array(buffer[0..<count])
    }

    func receive(exactly count: Int) throws -> [UInt8] {
        var out: [UInt8] = []
        while out.count < count {
            let chunk = try receive(max: min(65536, count - out.count))
            guard !chunk.isEmpty else { throw SocketError("EOF after \(out.count) of \(count) bytes") }
            out += chunk
        }
        return out
    }

    /// Reads until EOF, hashing as it goes; returns (byte count, SHA-256).
    func receiveAllHashed(limit: Int = 1 << 30) throws -> (Int, SHA256.Digest) {
        var hasher = SHA256()
        var total = 0
        while total <= limit {
            let chunk = try receive()
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            total += chunk.count
        }
        return (total, hasher.finalize())
    }

    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Sends back everything it receives until EOF, then closes.
    func echoUntilEOF() {
        while let chunk = try? receive(), !chunk.isEmpty {
            if (try? send(chunk)) == nil { break }
        }
        close()
    }

    /// Reads until the connection ends, noting the text received and how it
    /// ended: "EOF" or the error ("reset").
    func record(into received: Recorder, outcome: Recorder) {
        do {
            while true {
                let chunk = try receive()
                if chunk.isEmpty { break }
                received.add(String(decoding: chunk, as: UTF8.self))
            }
            outcome.add("EOF")
        } catch {
            outcome.add("\(error)")
        }
    }

    /// Closes with RST instead of FIN.
    func reset() {
        var option = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
        Glibc.close(fd)
    }

    func close() { Glibc.close(fd) }
}

struct SocketError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A listening socket on 127.0.0.1 that runs `handle` on its own thread for
/// each accepted connection, until `stop`.
final class TCPTestServer: @unchecked Sendable {  // all `let`: a descriptor, a port and a @Sendable handler
    let port: Int
    private let fd: Int32
    private let handle: @Sendable (TCPConnection) -> Void

    init(handle: @escaping @Sendable (TCPConnection) -> Void) throws {
        (fd, port) = try listeningSocket(backlog: 512)
        self.handle = handle
        let listener = fd
        Thread { Self.acceptLoop(listener, handle) }.start()
    }

    private static func acceptLoop(_ listener: Int32, _ handle: @escaping @Sendable (TCPConnection) -> Void) {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 { return }
            let connection = TCPConnection(fd: client)
            connection.setTimeout(seconds: 60)
            Thread { handle(connection) }.start()
        }
    }

    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    /// Echoes every byte back until the client's EOF, then closes.
    static func echo() throws -> TCPTestServer {
        try TCPTestServer { $0.echoUntilEOF() }
    }
}

/// A port on 127.0.0.1 where a connection never completes, as behind a
/// firewall that drops packets: nothing accepts, and the one place in the
/// listener's queue is taken at once, so the kernel drops every later SYN.
final class SilentListener {
    let port: Int
    private let fd: Int32
    private let queued: TCPConnection

    init() throws {
        (fd, port) = try listeningSocket(backlog: 0)
        queued = try TCPConnection.connect(port: port)
        do {
            try Self.confirmSilence(port: port)
        } catch {
            close()
            throw error
        }
    }

    /// A kernel that queues more than backlog + 1 (or refuses instead of
    /// dropping) would make a timeout test fail for the wrong reason: say so.
    private static func confirmSilence(port: Int) throws {
        let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        defer { Glibc.close(probe) }
        var address = loopback(port: port)
        let started = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(probe, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard started < 0, errno == EINPROGRESS else { throw SocketError("a connection to the silent listener did not stay pending") }
        var waiting = pollfd(fd: probe, events: Int16(POLLOUT), revents: 0)
        guard poll(&waiting, 1, 300) == 0 else {
            throw SocketError("this kernel answered a connection beyond the listener's queue; the timeout tests need it dropped")
        }
    }

    func close() {
        queued.close()
        Glibc.close(fd)
    }
}

/// 127.0.0.1:`port` (0 for any free port) as the socket calls take it.
private func loopback(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return address
}

/// A socket listening on a free port of 127.0.0.1.
private func listeningSocket(backlog: Int32) throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var address = loopback(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
            guard bind(fd, pointer, length) == 0 else { return -1 }
            return getsockname(fd, pointer, &length)
        }
    }
    guard bound == 0, listen(fd, backlog) == 0 else {
        close(fd)
        throw SocketError("cannot listen")
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    var bytes = [UInt8](repeating: 0, count: count)
    var index = 0
    while index + 8 <= count {
        let value = generator.next()
        withUnsafeBytes(of: value) { raw in
            for offset in 0..<8 { bytes[index + offset] = raw[offset] }
        }
        index += 8
    }
    while index < count {
        bytes[index] = UInt8.random(in: 0...255)
        index += 1
    }
    return bytes
}
