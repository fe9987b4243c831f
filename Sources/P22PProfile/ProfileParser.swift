import Foundation
import P22PClient
import NIOCore
import P22PCrypto
import P22PTransport
import P22PWire
import Yams

/// Reads a profile from YAML, checking every key, type and value, and
/// reporting the first problem as `file:line:column: message`. Unknown keys
/// are errors: a typo must never silently disable a forward.
public struct ProfileParser {
    public let fileName: String
    /// Relative paths in the profile resolve against this directory.
    public let baseDirectory: String
    public let environment: [String: String]
    public let defaultName: String
    /// The profile's text by line, for hints about what YAML made of it.
    private var sourceLines: [String] = []

    public init(fileName: String, baseDirectory: String, environment: [String: String], defaultName: String) {
        self.fileName = fileName
        self.baseDirectory = baseDirectory
        self.environment = environment
        self.defaultName = defaultName
    }

    /// Reads and checks the profile at `path`.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment,
                            defaultName: String) throws(ProfileError) -> LoadedProfile {
        let url = URL(fileURLWithPath: path)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw ProfileError(file: path, line: 1, column: 1, message: "cannot read the profile: \(Self.whyUnreadable(path))")
        }
        let parser = ProfileParser(fileName: path, baseDirectory: url.deletingLastPathComponent().path,
                                   environment: environment, defaultName: defaultName)
        return try parser.parse(text)
    }

    /// Why `path` cannot be read, in the words of the fix.
    static func whyUnreadable(_ path: String) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else {
            return errno == ENOENT ? "no such file (check the path)" : String(cString: strerror(errno))
        }
        if info.st_mode & S_IFMT == S_IFDIR { return "it is a folder, not a file" }
        if access(path, R_OK) != 0 { return "permission denied (make it readable by \(NSUserName()))" }
        return "it is not UTF-8 text"
    }

    public func parse(_ text: String) throws(ProfileError) -> LoadedProfile {
        let root: Node
        do {
            guard let composed = try Yams.compose(yaml: text) else { throw error(at: nil, "the profile is empty") }
            root = composed
        } catch let yaml as YamlError {
            throw syntaxError(yaml)
        } catch let profile as ProfileError {
            throw profile
        } catch {
            throw self.error(at: nil, "cannot parse the profile: \(error)")
        }
        var warnings: [ProfileWarning] = []
        var parser = self
        parser.sourceLines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let profile = try parser.parseProfile(root, warnings: &warnings)
        return LoadedProfile(profile: profile, warnings: warnings)
    }

    // MARK: Sections

    private func parseProfile(_ node: Node, warnings: inout [ProfileWarning]) throws(ProfileError) -> Profile {
        let top = try mapping(node, "the profile", keys: ["server", "proxy", "name", "identity_file", "tls", "reconnect", "keepalive", "resume_timeout", "udp_idle_timeout", "log", "relay", "status", "groups"])
        let servers = try top["server"].map { value throws(ProfileError) in try serverURLs(value, key: "server") } ?? [.default]
        let name = try top["name"].map { value throws(ProfileError) in try memberName(value, key: "name") } ?? defaultName
        let identityFile = try top["identity_file"].map { value throws(ProfileError) in resolve(try string(value, key: "identity_file")) }
        let tls = try top["tls"].map { value throws(ProfileError) in try parseTLS(value) } ?? TLSOptions()
        let reconnect = try top["reconnect"].map { value throws(ProfileError) in try parseReconnect(value) } ?? .standard
        let keepalive = try top["keepalive"].map { value throws(ProfileError) in try parseKeepalive(value) } ?? .standard
        let proxy = try top["proxy"].map { value throws(ProfileError) in try proxySetting(value) } ?? .fromEnvironment
        let resumeTimeout = try top["resume_timeout"].map { value throws(ProfileError) in try duration(value, key: "resume_timeout") } ?? Profile.defaultResumeTimeout
        guard resumeTimeout >= .zero else { throw error(at: top["resume_timeout"], "resume_timeout must not be negative") }
        let udpIdleTimeout = try top["udp_idle_timeout"].map { value throws(ProfileError) in try duration(value, key: "udp_idle_timeout") } ?? Profile.defaultUDPIdleTimeout
        guard udpIdleTimeout > .zero else { throw error(at: top["udp_idle_timeout"], "udp_idle_timeout must be more than 0 (a UDP flow ends after this long without a datagram)") }
        let log = try top["log"].map { value throws(ProfileError) in try parseLog(value) } ?? .standard
        let relay = try top["relay"].map { value throws(ProfileError) in try parseRelay(value) }
        let status = try top["status"].map { value throws(ProfileError) in try parseStatus(value) }
        guard let groupsNode = top["groups"] else { throw error(at: node, "missing key \"groups\": a profile needs at least one group") }
        let groupNodes = try sequence(groupsNode, key: "groups")
        guard !groupNodes.isEmpty else { throw error(at: groupsNode, "\"groups\" is empty: a profile needs at least one group") }
        var groups: [GroupProfile] = []
        var listeners: [String: Node] = [:]
        for groupNode in groupNodes {
            let group = try parseGroup(groupNode, listeners: &listeners, warnings: &warnings)
            if groups.contains(where: { $0.name == group.name && ($0.server ?? servers[0]) == (group.server ?? servers[0])
                                        && ($0.member ?? name) == (group.member ?? name) }) {
                throw error(at: groupNode, "group \"\(group.name)\" is listed twice for member \(group.member ?? name)")
            }
            groups.append(group)
        }
        return Profile(server: servers[0], fallbackServers: Array(servers.dropFirst()), name: name, identityFile: identityFile, tls: tls, keepalive: keepalive, reconnect: reconnect,
                       resumeTimeout: resumeTimeout, udpIdleTimeout: udpIdleTimeout, proxy: proxy,
                       log: log, relay: relay, status: status, groups: groups)
    }

    private func parseTLS(_ node: Node) throws(ProfileError) -> TLSOptions {
        let fields = try mapping(node, "tls", keys: ["ca_file", "pin_sha256"])
        var settings = TLSOptions()
        if let caFile = fields["ca_file"] { settings.caFile = try existingFile(caFile, key: "tls.ca_file") }
        if let pin = fields["pin_sha256"] {
            guard let bytes = TLSOptions.parsePin(try string(pin, key: "tls.pin_sha256")) else {
                throw error(at: pin, "tls.pin_sha256 must be 64 hex digits (the SHA-256 of the relay's certificate)")
            }
            settings.pinSHA256 = bytes
        }
        return settings
    }

    private func parseReconnect(_ node: Node) throws(ProfileError) -> ReconnectPolicy {
        let fields = try mapping(node, "reconnect", keys: ["initial_delay", "max_delay"])
        var policy = ReconnectPolicy.standard
        if let value = fields["initial_delay"] { policy.initialDelay = try duration(value, key: "reconnect.initial_delay") }
        if let value = fields["max_delay"] { policy.maxDelay = try duration(value, key: "reconnect.max_delay") }
        guard policy.initialDelay > .zero else { throw error(at: fields["initial_delay"], "reconnect.initial_delay must be above 0") }
        guard policy.maxDelay >= policy.initialDelay else {
            throw error(at: fields["max_delay"] ?? fields["initial_delay"], "reconnect.max_delay must not be below reconnect.initial_delay")
        }
        return policy
    }

    private func parseKeepalive(_ node: Node) throws(ProfileError) -> Keepalive {
        let fields = try mapping(node, "keepalive", keys: ["interval", "timeout"])
        var interval = Duration.nanoseconds(Keepalive.standard.interval.nanoseconds)
        var timeout = Duration.nanoseconds(Keepalive.standard.timeout.nanoseconds)
        if let value = fields["interval"] { interval = try duration(value, key: "keepalive.interval") }
        if let value = fields["timeout"] { timeout = try duration(value, key: "keepalive.timeout") }
        guard interval > .zero else { throw error(at: fields["interval"], "keepalive.interval must be above 0") }
        guard timeout > interval else {
            throw error(at: fields["timeout"] ?? fields["interval"],
                        "keepalive.timeout (\(timeout.readable)) must be longer than keepalive.interval (\(interval.readable)), or a quiet link is given up between two pings")
        }
        return Keepalive(interval: TimeAmount(interval), timeout: TimeAmount(timeout))
    }

    private func parseLog(_ node: Node) throws(ProfileError) -> LogSettings {
        let fields = try mapping(node, "log", keys: ["target", "level", "format"])
        var settings = LogSettings.standard
        if let value = fields["target"] { settings.target = try choice(value, key: "log.target") }
        if let value = fields["format"] { settings.format = try choice(value, key: "log.format") }
        if let value = fields["level"] {
            let level = try string(value, key: "log.level").lowercased()
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains(level) else { throw error(at: value, "log.level must be one of \(levels.joined(separator: ", ")), not \"\(level)\"") }
            settings.level = level
        }
        return settings
    }

    private func parseRelay(_ node: Node) throws(ProfileError) -> RelaySettings {
        let fields = try mapping(node, "relay", keys: ["listen"])
        guard let listen = fields["listen"] else { throw error(at: node, "relay needs \"listen\" (HOST:PORT)") }
        return RelaySettings(listen: try address(listen, key: "relay.listen"))
    }

    private func parseStatus(_ node: Node) throws(ProfileError) -> StatusSettings {
        let fields = try mapping(node, "status", keys: ["listen"])
        guard let listen = fields["listen"] else { throw error(at: node, "status needs \"listen\" (127.0.0.1:PORT, or a Unix socket's path)") }
        if let path = listen.scalar?.string, path.hasPrefix("/") || path.hasPrefix("./") || path.hasPrefix("~/") {
            return StatusSettings(listen: .unix(resolve(path)))
        }
        let address = try address(listen, key: "status.listen")
        let host = address.normalized.host
        // Nothing on it asks for a password: it must not be reachable from other machines.
        guard host.hasPrefix("127.") || host == "::1" else {
            throw error(at: listen, "status.listen must be a loopback address (127.0.0.1:PORT or [::1]:PORT), not \(address): it answers anyone who can reach it")
        }
        return StatusSettings(listen: .tcp(address))
    }

    private func parseGroup(_ node: Node, listeners: inout [String: Node],
                            warnings: inout [ProfileWarning]) throws(ProfileError) -> GroupProfile {
        let keys = ["name", "member", "password_file", "password_env", "password", "create", "reservation", "allow", "forwards", "server", "proxy"]
        let fields = try mapping(node, "a group", keys: keys)
        guard let nameNode = fields["name"] else { throw error(at: node, "a group needs \"name\"") }
        let name = try string(nameNode, key: "name")
        do { try Names.validateGroup(name) } catch { throw self.error(at: nameNode, "\(error)") }

        // In document order, so a second source is reported where it stands.
        let sources = ["password_file", "password_env", "password"].filter { fields[$0] != nil }
            .sorted { (line(fields[$0]), column(fields[$0])) < (line(fields[$1]), column(fields[$1])) }
        guard sources.count == 1 else {
            throw error(at: sources.count > 1 ? fields[sources[1]] : node,
                        sources.isEmpty ? "group \"\(name)\" needs one of password_file, password_env or password"
                                        : "group \"\(name)\" has both \(sources[0]) and \(sources[1]); keep one")
        }
        let password: GroupProfile.PasswordSource
        if let file = fields["password_file"] {
            password = .file(try passwordFile(file))
        } else if let variable = fields["password_env"] {
            let key = try string(variable, key: "password_env")
            guard environment[key]?.isEmpty == false else {
                throw error(at: variable, "environment variable \(key) (password_env) is not set")
            }
            password = .environment(key)
        } else {
            let inline = fields["password"]!
            password = .inline(try string(inline, key: "password"))
            warnings.append(ProfileWarning(file: fileName, line: line(inline), column: column(inline),
                                           message: "group \"\(name)\" has its password inline; prefer password_file or password_env"))
        }
        let create: GroupProfile.CreateMode = try fields["create"].map { value throws(ProfileError) in try choice(value, key: "create") } ?? .auto
        let reservation = try fields["reservation"].map { value throws(ProfileError) in try reservationFile(value, group: name) }
        let servers = try fields["server"].map { value throws(ProfileError) in try serverURLs(value, key: "server") }
        let member = try fields["member"].map { value throws(ProfileError) in try memberName(value) }
        let proxy = try fields["proxy"].map { value throws(ProfileError) in try proxySetting(value) }

        var allow = AllowList()
        if let allowNode = fields["allow"] {
            for entry in try sequence(allowNode, key: "allow") {
                let text = try string(entry, key: "allow")
                do {
                    let (target, ipProtocol) = try AllowList.entry(parsing: text)
                    allow.allow(target, ipProtocol)
                } catch { throw self.error(at: entry, "allow: \(error)") }
            }
        }
        var forwards: [ForwardSpec] = []
        if let forwardsNode = fields["forwards"] {
            for forwardNode in try sequence(forwardsNode, key: "forwards") {
                let spec = try parseForward(forwardNode)
                // A TCP and a UDP forward may share a port: they are two sockets.
                let socket = "\(spec.listen.normalized)\(spec.ipProtocol.suffix)"
                if let earlier = listeners[socket] {
                    throw error(at: forwardNode, "listen address \(spec.listen)\(spec.ipProtocol.suffix) is already used by the forward at line \(line(earlier))")
                }
                if let (other, earlier) = listeners.first(where: { Self.overlap($0.key, socket) }) {
                    throw error(at: forwardNode, "listen address \(spec.listen)\(spec.ipProtocol.suffix) overlaps \(other) of the forward at line \(line(earlier)): "
                                + "a wildcard address takes its port on every address; use one of them, or another port")
                }
                listeners[socket] = forwardNode
                forwards.append(spec)
            }
        }
        return GroupProfile(name: name, member: member, password: password, create: create, reservation: reservation,
                            allow: allow, forwards: forwards, server: servers?.first, fallbackServers: Array(servers?.dropFirst() ?? []), proxy: proxy)
    }

    /// Two listen sockets that cannot both be bound: the same port and
    /// protocol, one of them on a wildcard address (0.0.0.0 covers every IPv4
    /// address, :: every address).
    static func overlap(_ a: String, _ b: String) -> Bool {
        func split(_ socket: String) -> (host: String, port: String, udp: Bool)? {
            let udp = socket.hasSuffix("/udp")
            let text = udp ? String(socket.dropLast(4)) : socket
            guard let colon = text.lastIndex(of: ":") else { return nil }
            let host = text[..<colon].trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            return (host, String(text[text.index(after: colon)...]), udp)
        }
        guard let x = split(a), let y = split(b), x.port == y.port, x.udp == y.udp, x.host != y.host else { return false }
        let ipv6 = { (host: String) in host.contains(":") }
        for (wild, other) in [(x.host, y.host), (y.host, x.host)] {
            if wild == "::" { return true }
            if wild == "0.0.0.0", !ipv6(other) { return true }
        }
        return false
    }

    private func parseForward(_ node: Node) throws(ProfileError) -> ForwardSpec {
        let fields = try mapping(node, "a forward", keys: ["listen", "peer", "target", "peer_key", "compress", "protocol"])
        for key in ["listen", "peer", "target"] where fields[key] == nil {
            throw error(at: node, "a forward needs \"\(key)\" (listen: [HOST:]PORT, peer: NAME or CID, target: [HOST:]PORT)")
        }
        let peerNode = fields["peer"]!
        let peer: PeerReference
        do { peer = try PeerReference(parsing: try string(peerNode, key: "peer")) } catch let failure as ProfileError {
            throw failure
        } catch { throw self.error(at: peerNode, "peer: \(error)") }
        let peerKey = try fields["peer_key"].map { keyNode throws(ProfileError) -> [UInt8] in
            guard let key = MemberIdentity.publicKey(fromText: try string(keyNode, key: "peer_key")) else {
                throw error(at: keyNode, "peer_key: not a member's public key (44 base64 characters, as `p22p identity FILE` prints)")
            }
            return key
        }
        let compress = try fields["compress"].map { value throws(ProfileError) in try boolean(value, key: "compress") } ?? false
        let ipProtocol: IPProtocol = try fields["protocol"].map { value throws(ProfileError) in try choice(value, key: "protocol") } ?? .tcp
        if compress, ipProtocol == .udp {
            throw error(at: fields["compress"], "compress applies to TCP forwards only; a UDP forward sends each datagram as it is")
        }
        return ForwardSpec(peer: peer, listen: try address(fields["listen"]!, key: "listen"),
                           target: try address(fields["target"]!, key: "target"), peerKey: peerKey, compress: compress,
                           ipProtocol: ipProtocol)
    }

    // MARK: Values

    private func mapping(_ node: Node, _ what: String, keys allowed: [String]) throws(ProfileError) -> [String: Node] {
        guard case .mapping(let pairs) = node else { throw error(at: node, "\(what) must be a mapping of keys to values") }
        var fields: [String: Node] = [:]
        for (keyNode, value) in pairs {
            guard let key = keyNode.scalar?.string else { throw error(at: keyNode, "keys must be plain words") }
            guard allowed.contains(key) else {
                throw error(at: keyNode, "unknown key \"\(key)\" in \(what)\(Spelling.suggestion(for: key, among: allowed)) (known keys: \(allowed.joined(separator: ", ")))")
            }
            guard fields[key] == nil else { throw error(at: keyNode, "key \"\(key)\" appears twice in \(what)") }
            fields[key] = value
        }
        return fields
    }

    private func sequence(_ node: Node, key: String) throws(ProfileError) -> [Node] {
        guard case .sequence(let items) = node else {
            // A single value where a list belongs: show it as a list.
            let example = node.scalar.map { "\(key): [\($0.string)]" } ?? "\(key): [ ... ]"
            throw error(at: node, "\(key) must be a list, as in \(example)")
        }
        return Array(items)
    }

    private func string(_ node: Node, key: String) throws(ProfileError) -> String {
        guard case .scalar(let scalar) = node else { throw error(at: node, "\(key) must be a single value, not a list or mapping") }
        guard !scalar.string.isEmpty else { throw error(at: node, "\(key) is empty\(commentHint(node, key: key))") }
        return scalar.string
    }

    private func boolean(_ node: Node, key: String) throws(ProfileError) -> Bool {
        switch try string(node, key: key) {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        case let other: throw error(at: node, "\(key) must be true or false, not \"\(other)\"")
        }
    }

    private func choice<T: RawRepresentable & CaseIterable>(_ node: Node, key: String) throws(ProfileError) -> T where T.RawValue == String {
        let text = try string(node, key: key)
        guard let value = T(rawValue: text) else {
            let known = T.allCases.map(\.rawValue)
            throw error(at: node, "\(key) must be one of \(known.joined(separator: ", ")), not \"\(text)\"\(Spelling.suggestion(for: text, among: known))")
        }
        return value
    }

    private func duration(_ node: Node, key: String) throws(ProfileError) -> Duration {
        let text = try string(node, key: key)
        guard let value = DurationText.parse(text) else {
            throw error(at: node, "\(key): \"\(text)\" is not a duration (write e.g. 500ms, 2s, 1m)")
        }
        return value
    }

    private func address(_ node: Node, key: String) throws(ProfileError) -> TargetAddress {
        let text = try string(node, key: key)
        do { return try TargetAddress(parsing: text) } catch { throw self.error(at: node, "\(key): \(error)") }
    }

    /// One relay URL, or a list of them to fail over to in that order.
    private func serverURLs(_ node: Node, key: String) throws(ProfileError) -> [ServerURL] {
        guard case .sequence = node else { return [try serverURL(node, key: key)] }
        let items = try sequence(node, key: key)
        guard !items.isEmpty else { throw error(at: node, "\(key) is an empty list: give one relay URL or several") }
        var urls: [ServerURL] = []
        for item in items {
            let url = try serverURL(item, key: key)
            guard !urls.contains(url) else { throw error(at: item, "\(key): \(url) is listed twice") }
            urls.append(url)
        }
        return urls
    }

    private func serverURL(_ node: Node, key: String) throws(ProfileError) -> ServerURL {
        let text = try string(node, key: key)
        do { return try ServerURL(parsing: text) } catch { throw self.error(at: node, "\(key): \(error)") }
    }

    private func proxySetting(_ node: Node) throws(ProfileError) -> ProxySetting {
        let text = try string(node, key: "proxy")
        do { return try ProxySetting(parsing: text) } catch { throw self.error(at: node, "proxy: \(error), or none") }
    }

    private func memberName(_ node: Node, key: String = "member") throws(ProfileError) -> String {
        let text = try string(node, key: key)
        do { try Names.validateMember(text) } catch { throw self.error(at: node, "\(key): \(error)") }
        return text
    }

    /// A path from the profile: `~` expanded, relative to the profile's
    /// directory, and present now rather than discovered missing at 3 a.m.
    private func existingFile(_ node: Node, key: String) throws(ProfileError) -> String {
        let text = try string(node, key: key)
        let path = resolve(text)
        var isDirectory: ObjCBool = false
        guard FileManager.default.isReadableFile(atPath: path),
              FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw error(at: node, "\(key): file \(text) does not exist or cannot be read" + (text == path ? "" : " (looked at \(path))"))
        }
        return path
    }

    /// A password file whose first line is a password: an empty one fails at
    /// start, so `--check` says so here, with the line that names it.
    private func passwordFile(_ node: Node) throws(ProfileError) -> String {
        let path = try existingFile(node, key: "password_file")
        guard let contents = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw error(at: node, "password_file: \(path) is not UTF-8 text")
        }
        let first = contents.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        guard !(first.hasSuffix("\r") ? String(first.dropLast()) : first).isEmpty else {
            throw error(at: node, "password_file: \(path) is empty; put the password on its first line")
        }
        return path
    }

    /// When a value is empty because an unquoted `#` began a YAML comment
    /// (`name: #club`), the way to write it.
    private func commentHint(_ node: Node, key: String) -> String {
        let index = line(node) - 1
        guard sourceLines.indices.contains(index) else { return "" }
        let text = sourceLines[index]
        guard let keyRange = text.range(of: "\(key):"), let hash = text[keyRange.upperBound...].firstIndex(of: "#") else { return "" }
        let comment = text[hash...].prefix { !$0.isWhitespace && $0 != "," && $0 != "}" && $0 != "]" }
        return ": in YAML an unquoted # starts a comment; quote the value, as in \(key): \"\(comment)\""
    }

    /// A key file from `p22p reserve` for this very group.
    private func reservationFile(_ node: Node, group: String) throws(ProfileError) -> String {
        let path = try existingFile(node, key: "reservation")
        guard let data = FileManager.default.contents(atPath: path), let reservation = Reservation.decode(Array(data)) else {
            throw error(at: node, "reservation: \(path) is not a key file from p22p reserve")
        }
        guard reservation.group == group else {
            throw error(at: node, "reservation: the key is for group \(reservation.group), not \(group)")
        }
        return path
    }

    func resolve(_ path: String) -> String {
        LocalPath.resolve(path, relativeTo: baseDirectory, home: environment["HOME"] ?? NSHomeDirectory())
    }

    // MARK: Errors

    private func line(_ node: Node?) -> Int { node?.mark?.line ?? 1 }
    private func column(_ node: Node?) -> Int { node?.mark?.column ?? 1 }

    private func error(at node: Node?, _ message: String) -> ProfileError {
        ProfileError(file: fileName, line: line(node), column: column(node), message: message)
    }

    private func syntaxError(_ yaml: YamlError) -> ProfileError {
        switch yaml {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return ProfileError(file: fileName, line: mark.line, column: mark.column, message: "YAML syntax: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            return ProfileError(file: fileName, line: context.mark.line, column: context.mark.column,
                                message: "key \(keys) appears more than once in this mapping; keep one")
        default:
            return ProfileError(file: fileName, line: 1, column: 1, message: "YAML: \(yaml)")
        }
    }
}

/// A profile that passed every check, with what deserves a warning.
public struct LoadedProfile: Equatable, Sendable {
    public var profile: Profile
    public var warnings: [ProfileWarning]
}

public struct ProfileWarning: Equatable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String

    public var description: String { "\(file):\(line):\(column): warning: \(message)" }
}
