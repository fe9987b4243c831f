import Foundation
import P22PClient
@testable import P22PProfile
import Crypto
import P22PCrypto
import P22PTransport
import XCTest

/// The profile parser: every key parses to the expected value, and every
/// mistake is reported at the exact `line:column` with a message naming the key.
///
/// YAML literals below start at column 1 (the closing `"""` sets the
/// indentation), so the numbers in the assertions can be checked by counting.
final class ProfileParserTests: XCTestCase {
    /// A fresh directory per test holding the files a profile refers to.
    private var directory = ""
    private var home: String { directory + "/home" }

    override func setUpWithError() throws {
        let base = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("p22p-profile-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        directory = base.resolvingSymlinksInPath().path
        try write("ca.pem", "-----BEGIN CERTIFICATE-----\n")
        try write("secrets/friends.pass", "hunter2\n")
        let key = try Reservation.issue(group: "friends", creatorOnly: false, creatorKey: MemberIdentity().publicKey, expires: 4_000_000_000, key: Curve25519.Signing.PrivateKey())
        try write("friends-key.json", String(decoding: key.encoded(), as: UTF8.self))
        let other = try Reservation.issue(group: "#other", creatorOnly: false, creatorKey: MemberIdentity().publicKey, expires: 4_000_000_000, key: Curve25519.Signing.PrivateKey())
        try write("other-key.json", String(decoding: other.encoded(), as: UTF8.self))
        try write("home/x", "from home\n")
        try write("home/.config/p22p/friends.pass", "hunter2\n")
    }

    override func tearDownWithError() throws {
        if !directory.isEmpty { try? FileManager.default.removeItem(atPath: directory) }
    }

    private func write(_ relativePath: String, _ contents: String) throws {
        let url = URL(fileURLWithPath: directory).appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try contents.write(to: url, atomically: true, encoding: .utf8)
    }

    private func parser(_ environment: [String: String]) -> ProfileParser {
        ProfileParser(fileName: "profile.yaml", baseDirectory: directory, environment: environment, defaultName: "laptop")
    }

    private func parse(_ yaml: String, environment: [String: String] = ["PW": "pw"]) throws -> LoadedProfile {
        try parser(environment).parse(yaml)
    }

    /// Asserts that `yaml` is rejected at exactly `line:column` of profile.yaml
    /// with a one-line message containing every one of `mentions`.
    private func assertError(_ yaml: String, line: Int, column: Int, mentions: [String],
                             environment: [String: String] = ["PW": "pw"],
                             file: StaticString = #filePath, testLine: UInt = #line) {
        do {
            let loaded = try parser(environment).parse(yaml)
            XCTFail("expected an error at \(line):\(column), but the profile parsed: \(loaded)", file: file, line: testLine)
        } catch {
            XCTAssertEqual(error.file, "profile.yaml", "\(error)", file: file, line: testLine)
            XCTAssertEqual(error.line, line, "wrong line in: \(error)", file: file, line: testLine)
            XCTAssertEqual(error.column, column, "wrong column in: \(error)", file: file, line: testLine)
            for word in mentions {
                XCTAssertTrue(error.message.contains(word), "message does not mention \(word): \(error)", file: file, line: testLine)
            }
            XCTAssertEqual(error.description, "profile.yaml:\(error.line):\(error.column): \(error.message)", file: file, line: testLine)
            XCTAssertFalse(error.message.contains("\n"), "the message must be one line: \(error)", file: file, line: testLine)
        }
    }

    private func address(_ host: String, _ port: Int) -> TargetAddress { TargetAddress(host: host, port: port) }

    // MARK: Valid profiles

    func testFullProfileParsesEveryKey() throws {
        let pin = (0..<32).map { String(format: "%02X", ($0 * 37 + 11) % 256) }.joined(separator: ":")
        let yaml = """
        server: wss://relay.example.net:8443/p22p
        name: laptop-1
        tls:
          ca_file: ca.pem
          pin_sha256: "\(pin)"
        reconnect: { initial_delay: 250ms, max_delay: 2m }
        log: { target: journal, level: debug, format: json }
        relay: { listen: "0.0.0.0:39453" }
        groups:
          - name: friends
            member: laptop-2
            password_file: secrets/friends.pass
            create: always
            reservation: friends-key.json
            allow: [25565, "127.0.0.1:22"]
            forwards:
              - { listen: "127.0.0.1:2222", peer: home-pc, target: 22 }
              - { listen: 25565, peer: alice, target: "db.local:5432" }
          - name: "#work"
            password_env: WORK_PW
            create: never
            server: ws://10.0.0.1:4000
            forwards:
              - listen: 8080
                peer: 7
                target: "[::1]:80"
        """
        let loaded = try parse(yaml, environment: ["WORK_PW": "s3cret", "HOME": home])
        XCTAssertEqual(loaded.warnings, [])
        let profile = loaded.profile

        XCTAssertEqual(profile.server, ServerURL(secure: true, host: "relay.example.net", port: 8443, pathPrefix: "/p22p"))
        XCTAssertEqual(profile.name, "laptop-1")
        XCTAssertEqual(profile.tls.caFile, directory + "/ca.pem")
        XCTAssertEqual(profile.tls.pinSHA256, (0..<32).map { UInt8(($0 * 37 + 11) % 256) })
        XCTAssertEqual(profile.reconnect.initialDelay, .milliseconds(250))
        XCTAssertEqual(profile.reconnect.maxDelay, .seconds(120))
        XCTAssertEqual(profile.reconnect.stablePeriod, ReconnectPolicy.standard.stablePeriod)
        XCTAssertEqual(profile.log, LogSettings(target: .journal, level: "debug", format: .json))
        XCTAssertEqual(profile.relay, RelaySettings(listen: address("0.0.0.0", 39453)))
        XCTAssertEqual(profile.groups.count, 2)

        let friends = try XCTUnwrap(profile.groups.first)
        XCTAssertEqual(friends.name, "friends")
        XCTAssertEqual(friends.member, "laptop-2")
        XCTAssertEqual(friends.password, .file(directory + "/secrets/friends.pass"))
        XCTAssertEqual(friends.create, .always)
        XCTAssertEqual(friends.reservation, directory + "/friends-key.json")
        XCTAssertEqual(friends.allow.entries, [address("127.0.0.1", 25565), address("127.0.0.1", 22)])
        XCTAssertEqual(friends.forwards, [
            ForwardSpec(peer: .name("home-pc"), listen: address("127.0.0.1", 2222), target: address("127.0.0.1", 22)),
            ForwardSpec(peer: .name("alice"), listen: address("127.0.0.1", 25565), target: address("db.local", 5432)),
        ])
        XCTAssertNil(friends.server)

        let work = try XCTUnwrap(profile.groups.last)
        XCTAssertEqual(work.name, "#work")
        XCTAssertNil(work.member)
        XCTAssertEqual(work.password, .environment("WORK_PW"))
        XCTAssertEqual(work.create, .never)
        XCTAssertNil(work.reservation)
        XCTAssertEqual(work.allow, AllowList())
        XCTAssertEqual(work.forwards, [
            ForwardSpec(peer: try PeerReference(parsing: "7"), listen: address("127.0.0.1", 8080), target: address("::1", 80)),
        ])
        XCTAssertEqual(work.forwards.first?.peer.description, "CID 7")
        XCTAssertEqual(work.server, ServerURL(secure: false, host: "10.0.0.1", port: 4000, pathPrefix: ""))
    }

    func testOmittedKeysTakeTheirDefaults() throws {
        let yaml = """
        groups:
          - name: friends
            password_env: PW
        """
        let loaded = try parse(yaml)
        XCTAssertEqual(loaded.warnings, [])
        let profile = loaded.profile
        XCTAssertEqual(profile.server, ServerURL(secure: false, host: "127.0.0.1", port: 39453, pathPrefix: ""))
        XCTAssertEqual(profile.server.description, "ws://127.0.0.1:39453")
        XCTAssertEqual(profile.name, "laptop")
        XCTAssertNil(profile.tls.caFile)
        XCTAssertNil(profile.tls.pinSHA256)
        XCTAssertEqual(profile.reconnect.initialDelay, .milliseconds(500))
        XCTAssertEqual(profile.reconnect.maxDelay, .seconds(30))
        XCTAssertEqual(profile.log.target, .stdout)
        XCTAssertEqual(profile.log.level, "info")
        XCTAssertEqual(profile.log.format, .text)
        XCTAssertNil(profile.relay)
        XCTAssertEqual(profile.groups, [
            GroupProfile(name: "friends", member: nil, password: .environment("PW"), create: .auto, reservation: nil,
                         allow: AllowList(), forwards: [], server: nil),
        ])
    }

    func testTheDesignDocumentExampleParses() throws {
        let yaml = """
        server: wss://relay.example.net:39453   # default ws://127.0.0.1:39453
        name: laptop                            # member name; default host name
        tls: { ca_file: ca.pem, pin_sha256: "\(String(repeating: "0f", count: 32))" }   # optional
        reconnect: { initial_delay: 500ms, max_delay: 30s }
        log: { target: stdout, level: info, format: text }   # target: stdout | journal
        relay: { listen: 127.0.0.1:39453 }      # optional: also run an embedded relay
        groups:
          - name: friends
            password_file: ~/.config/p22p/friends.pass   # or password_env: FRIENDS_PW
            reservation: friends-key.json                # key file for '#' groups
            allow: [25565, "127.0.0.1:22"]
            forwards:
              - { listen: 127.0.0.1:2222, peer: home-pc, target: 22 }
              - { listen: 25565, peer: alice, target: "127.0.0.1:25565" }
        """
        let profile = try parse(yaml, environment: ["HOME": home]).profile
        XCTAssertEqual(profile.relay?.listen, address("127.0.0.1", 39453))
        XCTAssertEqual(profile.groups.first?.password, .file(home + "/.config/p22p/friends.pass"))
        XCTAssertEqual(profile.groups.first?.forwards.map(\.listen), [address("127.0.0.1", 2222), address("127.0.0.1", 25565)])
        XCTAssertEqual(profile.groups.first?.forwards.map(\.target), [address("127.0.0.1", 22), address("127.0.0.1", 25565)])
    }

    func testRelativePathsResolveAgainstTheBaseDirectory() throws {
        // None of these files exist relative to the test's working directory.
        let yaml = """
        tls:
          ca_file: ./ca.pem
        groups:
          - name: friends
            password_file: secrets/../secrets/friends.pass
            reservation: friends-key.json
          - name: others
            password_file: \(directory)/secrets/friends.pass
        """
        let profile = try parse(yaml).profile
        XCTAssertEqual(profile.tls.caFile, directory + "/ca.pem")
        XCTAssertEqual(profile.groups[0].password, .file(directory + "/secrets/friends.pass"))
        XCTAssertEqual(profile.groups[0].reservation, directory + "/friends-key.json")
        XCTAssertEqual(profile.groups[1].password, .file(directory + "/secrets/friends.pass"))
    }

    func testTildeExpandsUsingHOME() throws {
        let yaml = """
        tls: { ca_file: ~/x }
        groups:
          - name: friends
            password_file: ~/.config/p22p/friends.pass
        """
        let profile = try parse(yaml, environment: ["HOME": home]).profile
        XCTAssertEqual(profile.tls.caFile, home + "/x")
        XCTAssertEqual(profile.groups[0].password, .file(home + "/.config/p22p/friends.pass"))
    }

    func testInlinePasswordParsesWithOneWarningNamingTheGroup() throws {
        let yaml = """
        groups:
          - name: friends
            password: hunter2
        """
        let loaded = try parse(yaml)
        XCTAssertEqual(loaded.profile.groups.first?.password, .inline("hunter2"))
        XCTAssertEqual(loaded.warnings.count, 1)
        let warning = try XCTUnwrap(loaded.warnings.first)
        XCTAssertEqual(warning.file, "profile.yaml")
        XCTAssertEqual(warning.line, 3)
        XCTAssertEqual(warning.column, 15)
        XCTAssertTrue(warning.message.contains("\"friends\""), warning.description)
        XCTAssertTrue(warning.message.contains("password"), warning.description)
        XCTAssertTrue(warning.description.hasPrefix("profile.yaml:3:15: warning: "), warning.description)
    }

    // MARK: Unknown keys and wrong types

    func testKeepaliveIsSettable() throws {
        let profile = try parse("""
        keepalive: { interval: 5s, timeout: 15s }
        groups: [ { name: home, password_env: PW } ]
        """).profile
        XCTAssertEqual(profile.keepalive, Keepalive(interval: .seconds(5), timeout: .seconds(15)))
        XCTAssertEqual(try parse("groups: [ { name: home, password_env: PW } ]").profile.keepalive, .standard)
    }

    func testForwardMayCompress() throws {
        let profile = try parse("""
        groups:
          - name: home
            password_env: PW
            forwards:
              - { listen: 8080, peer: web, target: 80, compress: true }
              - { listen: 2222, peer: web, target: 22 }
        """).profile
        XCTAssertEqual(profile.groups[0].forwards.map(\.compress), [true, false])
        assertError("""
        groups:
          - name: home
            password_env: PW
            forwards:
              - { listen: 8080, peer: web, target: 80, compress: maybe }
        """, line: 5, column: 58, mentions: ["compress must be true or false"])
    }

    func testUDPForwardsAllowEntriesAndIdleTimeout() throws {
        let profile = try parse("""
        udp_idle_timeout: 2m
        groups:
          - name: games
            password_env: PW
            allow: [ "27015/udp", 22 ]
            forwards:
              - { listen: 27015, peer: server, target: 27015, protocol: udp }
              - { listen: 27015, peer: server, target: 27015 }
        """).profile
        XCTAssertEqual(profile.udpIdleTimeout, .seconds(120))
        XCTAssertEqual(profile.groups[0].forwards.map(\.ipProtocol), [.udp, .tcp], "a UDP and a TCP forward may share a port")
        XCTAssertEqual(profile.groups[0].allow.descriptions, ["127.0.0.1:22", "127.0.0.1:27015/udp"])
        XCTAssertEqual(try parse("groups: [ { name: home, password_env: PW } ]").profile.udpIdleTimeout, .seconds(60))
        assertError("""
        groups:
          - name: games
            password_env: PW
            forwards:
              - { listen: 27015, peer: server, target: 27015, protocol: sctp }
        """, line: 5, column: 65, mentions: ["protocol must be one of tcp, udp", "sctp"])
        assertError("""
        groups:
          - name: games
            password_env: PW
            forwards:
              - { listen: 27015, peer: server, target: 27015, protocol: udp }
              - { listen: 27015, peer: server, target: 27016, protocol: udp }
        """, line: 6, column: 9, mentions: ["127.0.0.1:27015/udp is already used by the forward at line 5"])
        assertError("""
        groups:
          - name: games
            password_env: PW
            forwards:
              - { listen: 27015, peer: server, target: 27015, protocol: udp, compress: true }
        """, line: 5, column: 80, mentions: ["compress applies to TCP forwards only"])
        assertError("""
        groups:
          - name: games
            password_env: PW
            allow: [ "27015/upd" ]
        """, line: 4, column: 14, mentions: ["allow:", "27015/upd"])
        assertError("udp_idle_timeout: 0s\ngroups: [ { name: home, password_env: PW } ]", line: 1, column: 19,
                    mentions: ["udp_idle_timeout must be more than 0"])
    }

    /// What `--check` catches that would otherwise fail only at start, and
    /// the messages that point at the fix.
    func testCheckPointsAtTheFix() throws {
        assertError("groups:\n  - name: #club\n    password_env: PW\n", line: 2, column: 10,
                    mentions: ["name is empty", "in YAML an unquoted # starts a comment", "name: \"#club\""])
        assertError("groups:\n  - name: home\n    pasword_file: secrets/friends.pass\n", line: 3, column: 5,
                    mentions: ["unknown key \"pasword_file\"", "did you mean \"password_file\"?"])
        assertError("groups:\n  - name: home\n    password_env: PW\n    allow: 8000\n", line: 4, column: 12,
                    mentions: ["allow must be a list, as in allow: [8000]"])
        assertError("groups:\n  - name: home\n    password_env: PW\n    create: alwyas\n", line: 4, column: 13,
                    mentions: ["create must be one of auto, always, never, not \"alwyas\"", "did you mean \"always\"?"])
        try write("secrets/empty.pass", "\nsecond line\n")
        assertError("groups:\n  - name: home\n    password_file: secrets/empty.pass\n", line: 3, column: 20,
                    mentions: ["password_file", "empty.pass is empty; put the password on its first line"])
        assertError("""
        groups:
          - name: home
            password_env: PW
            forwards: [ { listen: 0.0.0.0:19500, peer: nas, target: 80 } ]
          - name: work
            password_env: PW
            forwards: [ { listen: 127.0.0.1:19500, peer: pc, target: 80 } ]
        """, line: 7, column: 17, mentions: ["127.0.0.1:19500 overlaps 0.0.0.0:19500 of the forward at line 4", "wildcard"])
        // Different ports, or TCP beside UDP, do not overlap.
        XCTAssertNoThrow(try parser(["PW": "pw"]).parse("""
        groups:
          - name: home
            password_env: PW
            forwards: [ { listen: 0.0.0.0:19500, peer: nas, target: 80 }, { listen: 127.0.0.1:19500, peer: nas, target: 80, protocol: udp },
                        { listen: 127.0.0.1:19501, peer: nas, target: 80 } ]
        """))
        XCTAssertThrowsError(try ProfileParser.load(path: directory + "/missing.yaml", defaultName: "x")) { error in
            XCTAssertEqual("\(error)", "\(directory)/missing.yaml:1:1: cannot read the profile: no such file (check the path)")
        }
        XCTAssertThrowsError(try ProfileParser.load(path: directory + "/secrets", defaultName: "x")) { error in
            XCTAssertTrue("\(error)".hasSuffix("cannot read the profile: it is a folder, not a file"), "\(error)")
        }
    }

    func testStatusListensOnLoopbackOnly() throws {
        let profile = try parse("status: { listen: 127.0.0.1:19600 }\ngroups: [ { name: home, password_env: PW } ]").profile
        XCTAssertEqual(profile.status, StatusSettings(listen: .tcp(TargetAddress(host: "127.0.0.1", port: 19600))))
        XCTAssertNil(try parse("groups: [ { name: home, password_env: PW } ]").profile.status, "off unless asked for")
        assertError("status: { listen: 0.0.0.0:19600 }\ngroups: [ { name: home, password_env: PW } ]", line: 1, column: 19,
                    mentions: ["status.listen must be a loopback address", "0.0.0.0:19600"])
        assertError("status: { }\ngroups: [ { name: home, password_env: PW } ]", line: 1, column: 9,
                    mentions: ["status needs \"listen\""])
        // A Unix socket: absolute, or relative to the profile's folder.
        let socket = try parse("status: { listen: /run/p22p/home.sock }\ngroups: [ { name: home, password_env: PW } ]").profile
        XCTAssertEqual(socket.status, StatusSettings(listen: .unix("/run/p22p/home.sock")))
        let relative = try parse("status: { listen: ./status.sock }\ngroups: [ { name: home, password_env: PW } ]").profile
        guard case .unix(let path) = relative.status?.listen else { return XCTFail("not a socket: \(String(describing: relative.status))") }
        XCTAssertTrue(path.hasSuffix("/status.sock") && path.hasPrefix("/"), path)
    }

    func testProxyAtTopLevelAndPerGroup() throws {
        let profile = try parse("""
        proxy: http://user:pw@proxy.corp:3128
        groups:
          - { name: home, password_env: PW }
          - { name: lab, password_env: PW, proxy: none }
        """).profile
        XCTAssertEqual(profile.proxy, .via(ProxyURL(kind: .http, host: "proxy.corp", port: 3128, username: "user", password: "pw")))
        XCTAssertNil(profile.groups[0].proxy)
        XCTAssertEqual(profile.groups[1].proxy, .direct)
        XCTAssertEqual(try parse("groups: [ { name: home, password_env: PW } ]").profile.proxy, .fromEnvironment)
        XCTAssertThrowsError(try parse("proxy: ftp://x:21\ngroups: [ { name: home, password_env: PW } ]")) { error in
            XCTAssertTrue("\(error)".hasPrefix("profile.yaml:1:8: proxy:"), "\(error)")
        }
    }

    func testResumeTimeoutIsSettableAndDefaultsToThirtySeconds() throws {
        let profile = try parse("""
        resume_timeout: 2m
        groups: [ { name: home, password_env: PW } ]
        """).profile
        XCTAssertEqual(profile.resumeTimeout, .seconds(120))
        XCTAssertEqual(try parse("groups: [ { name: home, password_env: PW } ]").profile.resumeTimeout, .seconds(30))
        XCTAssertThrowsError(try parse("resume_timeout: soon\ngroups: [ { name: home, password_env: PW } ]")) { error in
            XCTAssertTrue("\(error)".contains("resume_timeout"), "\(error)")
        }
    }

    func testServerMayBeAListOfRelaysToFailOverTo() throws {
        let profile = try parse("""
        server: [wss://a.example.net, wss://b.example.net:8443]
        groups:
          - { name: home, password_env: PW }
          - { name: lab, password_env: PW, server: [ws://10.0.0.1:39453, tcp://10.0.0.2:39454] }
        """).profile
        XCTAssertEqual(profile.server.description, "wss://a.example.net:443")
        XCTAssertEqual(profile.fallbackServers.map(\.description), ["wss://b.example.net:8443"])
        XCTAssertEqual(profile.groups[1].server?.description, "ws://10.0.0.1:39453")
        XCTAssertEqual(profile.groups[1].fallbackServers.map(\.description), ["tcp://10.0.0.2:39454"])
        assertError("server: tcp://relay.example.net\ngroups: [ { name: home, password_env: PW } ]", line: 1, column: 9,
                    mentions: ["tcp://HOST:PORT", "--listen-tcp"])
        assertError("server: []\ngroups: [ { name: home, password_env: PW } ]", line: 1, column: 9, mentions: ["server", "empty"])
        assertError("server: [ws://a:1, ws://a:1]\ngroups: [ { name: home, password_env: PW } ]", line: 1, column: 20,
                    mentions: ["listed twice"])
    }

    func testKeepaliveTimeoutMustOutlastTheInterval() {
        assertError("""
        keepalive: { interval: 10s, timeout: 5s }
        groups: [ { name: home, password_env: PW } ]
        """, line: 1, column: 38, mentions: ["keepalive.timeout", "longer than keepalive.interval"])
        assertError("""
        keepalive: { intervall: 10s }
        groups: [ { name: home, password_env: PW } ]
        """, line: 1, column: 14, mentions: ["intervall"])
    }

    func testUnknownTopLevelKey() {
        let yaml = """
        server: ws://127.0.0.1:39453
        gruops:
          - name: friends
            password_env: PW
        """
        assertError(yaml, line: 2, column: 1, mentions: ["\"gruops\""])
    }

    func testUnknownKeyInsideAGroup() {
        let yaml = """
        groups:
          - name: friends
            password_env: PW
            forward:
              - { listen: 2222, peer: bob, target: 22 }
        """
        assertError(yaml, line: 4, column: 5, mentions: ["\"forward\"", "group"])
    }

    func testUnknownKeyInsideAForward() {
        let yaml = """
        groups:
          - name: friends
            password_env: PW
            forwards:
              - listen: 2222
                peer: bob
                taget: 22
        """
        assertError(yaml, line: 7, column: 9, mentions: ["\"taget\"", "forward"])
    }

    func testGroupsMustBeAList() {
        let yaml = """
        name: laptop
        groups: friends
        """
        assertError(yaml, line: 2, column: 9, mentions: ["groups", "list"])
    }

    func testAllowMustBeAList() {
        let yaml = """
        groups:
          - name: friends
            password_env: PW
            allow: { port: 22 }
        """
        assertError(yaml, line: 4, column: 12, mentions: ["allow", "list"])
    }

    // MARK: Bad values

    func testPortAbove65535() {
        let yaml = """
        groups:
          - name: friends
            password_env: PW
            forwards:
              - { listen: 70000, peer: bob, target: 22 }
        """
        assertError(yaml, line: 5, column: 19, mentions: ["listen", "70000"])
    }

    func testPortThatIsNotANumber() {
        let yaml = """
        groups:
          - name: friends
            password_env: PW
            allow: [22, "127.0.0.1:abc"]
        """
        assertError(yaml, line: 4, column: 17, mentions: ["allow", "abc"])
    }

    func testPortZeroInTarget() {
        let yaml = """
        groups:
          - name: friends
            password_env: PW
            forwards:
              - { listen: 2222, peer: bob, target: 0 }
        """
        assertError(yaml, line: 5, column: 44, mentions: ["target", "\"0\""])
    }

    func testDurationWithWordUnit() {
        let yaml = """
        reconnect:
          initial_delay: 5 seconds
        groups:
          - name: friends
            password_env: PW
        """
        assertError(yaml, line: 2, column: 18, mentions: ["initial_delay", "5 seconds"])
    }

    func testDurationWithUnknownUnit() {
        let yaml = """
        reconnect: { initial_delay: 1s, max_delay: 10x }
        groups:
          - name: friends
            password_env: PW
        """
        assertError(yaml, line: 1, column: 44, mentions: ["max_delay", "10x"])
    }

    func testMaxDelayBelowInitialDelay() {
        let yaml = """
        groups:
          - name: friends
            password_env: PW
        reconnect:
          initial_delay: 10s
          max_delay: 2s
        """
        assertError(yaml, line: 6, column: 14, mentions: ["max_delay", "initial_delay"])
    }

    func testDuplicateListenAddressAcrossGroups() {
        // "2222" and "127.0.0.1:2222" are the same local address.
        let yaml = """
        groups:
          - name: friends
            password_env: PW
            forwards:
              - { listen: 2222, peer: bob, target: 22 }
          - name: work
            password_env: PW
            forwards:
              - listen: "127.0.0.1:2222"
                peer: carol
                target: 22
        """
        assertError(yaml, line: 9, column: 9, mentions: ["listen", "127.0.0.1:2222", "line 5"])
    }

    func testMissingPasswordFile() {
        let yaml = """
        groups:
          - name: friends
            password_file: missing.pass
        """
        assertError(yaml, line: 3, column: 20, mentions: ["password_file", "missing.pass", directory + "/missing.pass"])
    }

    func testTwoPasswordSourcesInOneGroup() {
        let yaml = """
        groups:
          - name: friends
            password_file: secrets/friends.pass
            password_env: PW
        """
        assertError(yaml, line: 4, column: 19, mentions: ["password_file", "password_env", "\"friends\""])
    }

    func testNoPasswordSource() {
        let yaml = """
        groups:
          - name: friends
            create: auto
        """
        assertError(yaml, line: 2, column: 5, mentions: ["\"friends\"", "password_file", "password_env"])
    }

    func testPasswordEnvNamingAnUnsetVariable() {
        let yaml = """
        groups:
          - name: friends
            password_env: NOT_SET_PW
        """
        assertError(yaml, line: 3, column: 19, mentions: ["password_env", "NOT_SET_PW"], environment: ["PW": "pw"])
    }

    func testInvalidMemberName() {
        let yaml = """
        groups:
          - name: friends
            member: has space
            password_env: PW
        """
        assertError(yaml, line: 3, column: 13, mentions: ["member", "has space"])
    }

    func testInvalidProfileName() {
        let yaml = """
        name: has space
        groups:
          - name: friends
            password_env: PW
        """
        assertError(yaml, line: 1, column: 7, mentions: ["name", "has space"])
    }

    func testInvalidLogLevel() {
        let yaml = """
        log:
          level: verbose
        groups:
          - name: friends
            password_env: PW
        """
        assertError(yaml, line: 2, column: 10, mentions: ["log.level", "verbose"])
    }

    func testInvalidCreateMode() {
        let yaml = """
        groups:
          - name: friends
            password_env: PW
            create: sometimes
        """
        assertError(yaml, line: 4, column: 13, mentions: ["create", "sometimes", "auto, always, never"])
    }

    func testBadServerURL() {
        let yaml = """
        server: http://x
        groups:
          - name: friends
            password_env: PW
        """
        assertError(yaml, line: 1, column: 9, mentions: ["server", "http://x"])
    }

    // MARK: Documents that are not profiles

    func testYAMLSyntaxErrorUnclosedBracket() {
        // The flow sequence opened at 4:12 never closes; libyaml notices at the
        // end of the stream, which it places at the start of the line after the last.
        let yaml = """
        groups:
          - name: friends
            password_env: PW
            allow: [22, 80

        """
        assertError(yaml, line: 5, column: 1, mentions: ["YAML", "']'"])
    }

    func testEmptyDocument() {
        assertError("", line: 1, column: 1, mentions: ["empty"])
        assertError("# nothing but a comment\n", line: 1, column: 1, mentions: ["empty"])
    }

    func testEmptyGroupsList() {
        let yaml = """
        name: laptop
        groups: []
        """
        assertError(yaml, line: 2, column: 9, mentions: ["groups", "empty"])
    }

    func testKeyRepeatedInAGroup() {
        // Yams rejects repeated keys itself (YamlError.duplicatedKeysInMapping)
        // and knows only the first occurrence, so that is where the error
        // belongs: on one line, naming the key, not at 1:1 with the whole file.
        let yaml = """
        groups:
          - name: friends
            password_env: PW
            password_env: OTHER_PW
        """
        assertError(yaml, line: 3, column: 5, mentions: ["password_env"])
    }

    func testReservationMustBeAKeyForThisGroup() throws {
        let yaml = """
        groups:
          - name: friends
            password_env: PW
            reservation: other-key.json
        """
        assertError(yaml, line: 4, column: 18, mentions: ["reservation: the key is for group #other, not friends"])
        let notAKey = """
        groups:
          - name: friends
            password_env: PW
            reservation: ca.pem
        """
        assertError(notAKey, line: 4, column: 18, mentions: ["is not a key file from p22p reserve"])
    }
}
