import Foundation

/// A test host of our own: a network namespace joined to this one by a veth
/// pair, with addresses the test picks. `blackhole()` takes the namespace's
/// end of the link down, so packets vanish without any error or FIN, as on
/// a dead path. Our end keeps its route (marked linkdown), and a blackhole
/// route under it catches the subnet should that route ever go: traffic for
/// the test host never leaves this machine by the default route. Removed
/// (with its veth pair and route) by `remove()`.
final class NetworkNamespace {
    let name: String
    /// The namespace's address, and ours on the other end of the link.
    let address: String
    let hostAddress: String
    private let hostDevice: String
    private let peerDevice: String
    private let subnet: String

    static let ipCommand = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Why namespaces cannot be made here, or nil when they can.
    static var unavailable: String? {
        guard ipCommand != nil else { return "the ip command (iproute2) is not installed" }
        guard getuid() == 0 else { return "network namespaces need root" }
        return nil
    }

    init(subnet: Int) throws {
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        name = "p22p-test-\(tag)"
        hostDevice = "p22p\(tag.prefix(8))h"
        peerDevice = "p22p\(tag.prefix(8))n"
        address = "10.231.\(subnet).1"
        hostAddress = "10.231.\(subnet).2"
        self.subnet = "10.231.\(subnet).0/24"
        try Self.ip(["route", "add", "blackhole", self.subnet, "metric", "4000"])
        do {
            try Self.ip(["netns", "add", name])
            try Self.ip(["link", "add", hostDevice, "type", "veth", "peer", "name", peerDevice])
            try Self.ip(["link", "set", peerDevice, "netns", name])
            try Self.ip(["addr", "add", "\(hostAddress)/24", "dev", hostDevice])
            try Self.ip(["link", "set", hostDevice, "up"])
            try Self.ip(inside(name) + ["addr", "add", "\(address)/24", "dev", peerDevice])
            try Self.ip(inside(name) + ["link", "set", peerDevice, "up"])
            try Self.ip(inside(name) + ["link", "set", "lo", "up"])
        } catch {
            remove()
            throw error
        }
    }

    func blackhole() throws { try Self.ip(inside(name) + ["link", "set", peerDevice, "down"]) }

    func restore() throws { try Self.ip(inside(name) + ["link", "set", peerDevice, "up"]) }

    /// Deleting the namespace deletes its end of the veth pair, and with it ours.
    func remove() {
        _ = try? Self.ip(["link", "del", hostDevice])
        _ = try? Self.ip(["netns", "del", name])
        _ = try? Self.ip(["route", "del", "blackhole", subnet])
    }

    /// `ip` run inside namespace `name`.
    private func inside(_ name: String) -> [String] { ["netns", "exec", name, Self.ipCommand ?? "ip"] }

    @discardableResult
    static func ip(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ipCommand ?? "/usr/sbin/ip")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw SocketError("ip \(arguments.joined(separator: " ")): \(output)") }
        return output
    }
}
