import Foundation
import P22PDaemon
import P22PProfile

/// One HTTP/1.0 GET to the daemon's status endpoint, over TCP or a Unix
/// socket: all `p22p-up status` needs, within a deadline so a stuck daemon
/// cannot hang it.
enum StatusClient {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// More than any status document; an endpoint that sends more is not one.
    static let largestAnswer = 16 << 20

    static func get(_ path: String, from listen: StatusSettings.Listen, timeout: Double = 5) throws -> [UInt8] {
        let deadline = Date().addingTimeInterval(timeout)
        let socket = try connect(listen)
        defer { close(socket) }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: localhost\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            try wait(for: Int16(POLLOUT), on: socket, until: deadline)
            let count = request[sent...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw Failure(description: String(cString: strerror(errno))) }
            sent += count
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            try wait(for: Int16(POLLIN), on: socket, until: deadline)
            let count = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw Failure(description: String(cString: strerror(errno))) }
            if count == 0 { break }
            response += chunk[..<count]
            guard response.count <= largestAnswer else { throw Failure(description: "the answer is larger than \(largestAnswer >> 20) MiB") }
        }
        let separator = Array("\r\n\r\n".utf8)
        guard let end = response.indices.first(where: { response[$0...].starts(with: separator) }) else {
            throw Failure(description: "the answer is not HTTP")
        }
        let head = String(decoding: response[..<end], as: UTF8.self)
        guard head.hasPrefix("HTTP/1."), head.split(separator: " ").dropFirst().first == "200" else {
            throw Failure(description: "it answered \(head.split(separator: "\r\n").first ?? "")")
        }
        return Array(response[(end + separator.count)...])
    }

    /// Waits until `socket` is ready, or throws once `deadline` passed.
    private static func wait(for events: Int16, on socket: Int32, until deadline: Date) throws {
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw Failure(description: "no answer within the time allowed") }
            var entry = pollfd(fd: socket, events: events, revents: 0)
            let ready = poll(&entry, 1, Int32(left * 1000) + 1)
            if ready > 0 { return }
            if ready < 0, errno != EINTR { throw Failure(description: String(cString: strerror(errno))) }
        }
    }

    private static func connect(_ listen: StatusSettings.Listen) throws -> Int32 {
        switch listen {
        case .unix(let path):
            return try StatusSocket.connect(path)
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
            // Loopback answers or refuses at once.
            guard Glibc.connect(socket, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
                let reason = errno == ECONNREFUSED ? "nothing listens there" : String(cString: strerror(errno))
                close(socket)
                throw Failure(description: reason)
            }
            return socket
        }
    }
}
