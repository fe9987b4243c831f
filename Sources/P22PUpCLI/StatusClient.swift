import Foundation
import P22PProfile

/// One HTTP/1.0 GET to the daemon's status endpoint, over TCP or a Unix
/// socket: all `p22p-up status` needs, with a deadline so a stuck daemon
/// cannot hang it.
enum StatusClient {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func get(_ path: String, from listen: StatusSettings.Listen, timeout: Int = 5) throws -> [UInt8] {
        let socket = try connect(listen, timeout: timeout)
        defer { close(socket) }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: localhost\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else {
            throw Failure(description: String(cString: strerror(errno)))
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count == 0 { break }
            guard count > 0 else { throw Failure(description: errno == EAGAIN ? "no answer within \(timeout) s" : String(cString: strerror(errno))) }
            response += chunk[..<count]
        }
        let separator = Array("\r\n\r\n".utf8)
        guard let end = response.indices.first(where: { response[$0...].starts(with: separator) }) else {
            throw Failure(description: "the answer is not HTTP")
        }
        let head = String(decoding: response[..<end], as: UTF8.self)
        guard head.hasPrefix("HTTP/1.") , head.split(separator: " ").dropFirst().first == "200" else {
            throw Failure(description: "it answered \(head.split(separator: "\r\n").first ?? "")")
        }
        return Array(response[(end + separator.count)...])
    }

    private static func connect(_ listen: StatusSettings.Listen, timeout: Int) throws -> Int32 {
        switch listen {
        case .unix(let path):
            let socket = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard socket >= 0 else { throw Failure(description: String(cString: strerror(errno))) }
            setTimeout(socket, timeout)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
                close(socket)
                throw Failure(description: "the socket path is too long")
            }
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                raw.copyBytes(from: bytes)
                raw[bytes.count] = 0
            }
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            guard result == 0 else {
                let reason = String(cString: strerror(errno))
                close(socket)
                throw Failure(description: reason)
            }
            return socket
        case .tcp(let address):
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var found: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(address.host, "\(address.port)", &hints, &found) == 0, let first = found else {
                throw Failure(description: "cannot resolve \(address.host)")
            }
            defer { freeaddrinfo(found) }
            let socket = Glibc.socket(first.pointee.ai_family, first.pointee.ai_socktype, first.pointee.ai_protocol)
            guard socket >= 0 else { throw Failure(description: String(cString: strerror(errno))) }
            setTimeout(socket, timeout)
            guard Glibc.connect(socket, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
                let reason = errno == ECONNREFUSED ? "nothing listens there" : String(cString: strerror(errno))
                close(socket)
                throw Failure(description: reason)
            }
            return socket
        }
    }

    private static func setTimeout(_ socket: Int32, _ seconds: Int) {
        var limit = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
    }
}
