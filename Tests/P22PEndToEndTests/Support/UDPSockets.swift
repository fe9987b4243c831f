#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NIOConcurrencyHelpers

/// A plain blocking UDP socket on 127.0.0.1: the "real UDP program" at either
/// end of a forward, independent of the NIO code under test.
final class UDPSocket: @unchecked Sendable {  // only a descriptor; sends and receives may run on two threads
    let fd: Int32
    let port: Int

    /// Binds 127.0.0.1 on a free port; receives time out after `timeoutMilliseconds`.
    init(timeoutMilliseconds: Int = 2000) throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket: \(errno)") }
        self.fd = fd
        var address = Self.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw SocketError("cannot bind a UDP socket") }
        port = Int(UInt16(bigEndian: address.sin_port))
        // Room for bursts: 3,000 datagrams must not overflow a default buffer.
        var size: Int32 = 4 << 20
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        setTimeout(milliseconds: timeoutMilliseconds)
    }

    func setTimeout(milliseconds: Int) {
        var time = timeval(tv_sec: milliseconds / 1000, tv_usec: Int((milliseconds % 1000) * 1000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return address
    }

    func send(_ bytes: [UInt8], to port: Int) throws {
        var address = Self.loopback(port: port)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { to in
                bytes.withUnsafeBytes { Glibc.sendto(fd, $0.baseAddress, $0.count, 0, to, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        guard sent == bytes.count else { throw SocketError("sendto \(port): \(String(cString: strerror(errno)))") }
    }

    /// One datagram and the port it came from; nil on timeout.
    func receive() -> (bytes: [UInt8], port: Int)? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { from in
                buffer.withUnsafeMutableBytes { recvfrom(fd, $0.baseAddress, 65536, 0, from, &length) }
            }
        }
        guard count >= 0 else { return nil }
        return (Array(buffer[0..<count]), Int(UInt16(bigEndian: address.sin_port)))
    }

    func close() {
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
    }
}

/// A UDP echo target: sends every datagram back to where it came from, and
/// notes the source ports it saw and how many datagrams, until `stop`.
final class UDPEchoServer: @unchecked Sendable {  // a socket and locked counters
    let socket: UDPSocket
    var port: Int { socket.port }
    private let seen = NIOLockedValueBox<(count: Int, ports: [Int])>((0, []))
    private let stopped = NIOLockedValueBox(false)

    init() throws {
        socket = try UDPSocket(timeoutMilliseconds: 200)
        let socket = self.socket
        let seen = self.seen
        let stopped = self.stopped
        Thread {
            while !stopped.withLockedValue({ $0 }) {
                guard let (bytes, port) = socket.receive() else { continue }
                seen.withLockedValue {
                    $0.count += 1
                    if !$0.ports.contains(port) { $0.ports.append(port) }
                }
                try? socket.send(bytes, to: port)
            }
        }.start()
    }

    /// Datagrams received so far.
    var count: Int { seen.withLockedValue { $0.count } }
    /// Source ports seen, in order of first appearance: one per flow.
    var sourcePorts: [Int] { seen.withLockedValue { $0.ports } }

    func stop() {
        stopped.withLockedValue { $0 = true }
        socket.close()
    }
}
