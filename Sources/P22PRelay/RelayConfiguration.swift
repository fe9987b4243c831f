import NIOCore
import NIOSSL
import P22PTransport
import P22PWire

/// Everything the relay can be told, as a plain value. Defaults are what
/// `p22p-server` runs with when given no flags.
public struct RelayConfiguration: Sendable {
    public var host: String = "0.0.0.0"
    public var port: Int = 39453
    /// Where members may also connect with tcp:// (or tls:// with `tls`):
    /// the same relay and groups, p22p's stream framing instead of WebSockets.
    public var streamListeners: [ListenAddress] = []
    /// Event-loop threads; each member connection lives on one of them.
    /// One by default: members of a group land on threads at random, and a
    /// frame between two threads costs a wake-up of the other one (round
    /// trip p50 through one forward here: 339 µs with one thread, 380 with
    /// two), while one thread forwards well over 1 GB/s. More threads pay
    /// off only for many busy groups on many cores.
    public var threads: Int = 1
    /// Largest message (WebSocket or stream frame) accepted from a member.
    public var maxFrameSize: Int = Limits.defaultMaxFrameSize
    public var keepalive: Keepalive = .standard
    /// Time from TCP accept to a successful create or join.
    public var authTimeout: TimeAmount = .seconds(10)
    public var maxGroups: Int = 10_000
    public var maxMembersPerGroup: Int = Limits.maxMembersPerGroup
    /// Bytes queued toward one member above which the relay stops reading from
    /// the members sending to it, until the queue drains below `resumeBelow`.
    public var pauseAbove: Int = 1 << 20
    public var resumeBelow: Int = 256 << 10
    /// Bytes queued toward one member above which it is disconnected as not
    /// reading. Pausing keeps well-behaved traffic far below this.
    public var maxBufferedPerMember: Int = 16 << 20
    /// Bytes queued toward all members together above which a member with
    /// more than `resumeBelow` queued toward it is disconnected as not
    /// reading when a frame for it comes, so the relay's memory stays bounded
    /// however many members are slow at once.
    public var maxBufferedTotal: Int = 256 << 20
    /// A member above `pauseAbove` that takes no bytes for this long is
    /// disconnected as not reading.
    public var stallTimeout: TimeAmount = .seconds(30)
    /// Streams one member may have open at once (through all its peers).
    public var maxStreamsPerMember: Int = 1024
    /// Failed joins (wrong password) one client address may make per minute
    /// before further joins from it are refused unchecked.
    public var failedJoinsPerMinute: Int = 10
    /// Reservation requests one client address may make per hour.
    public var reservationsPerHour: Int = 5
    /// Unexpired reservations one client address may hold.
    public var reservationsPerAddress: Int = 20
    /// Connections one client address may have open at once; more are
    /// closed as soon as their address is known.
    public var maxConnectionsPerAddress: Int = 64
    /// Groups one client address may create per minute.
    public var groupsPerMinute: Int = 10
    /// Peers whose PROXY header or X-Forwarded-For names the client address.
    public var trustedProxies: TrustedProxies = .none
    /// Addresses each per-address rate limit remembers; when full, the least
    /// recently used is forgotten. Bounds their memory (a few MiB each).
    public var addressTableSize: Int = 65_536
    /// Where reservations and their signing key are kept across restarts;
    /// without one they last only as long as the process.
    public var stateDirectory: String?
    /// Serve wss:// (and tls:// on the stream listeners) directly instead of
    /// behind a TLS-terminating proxy.
    public var tls: RelayTLS?
    /// Test hook: sees the peer frame of every relayed frame (what follows
    /// the relayed header) after routing and before delivery, and drops it by
    /// returning false. It may change bytes but not the length. Tests use it
    /// to tamper with or lose frames the way a hostile relay could.
    public var frameTap: (@Sendable (inout ByteBuffer) -> Bool)?

    public init() {}
}

/// A host and port to listen on.
public struct ListenAddress: Sendable, Equatable {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// The relay's own certificate for wss://.
public struct RelayTLS: Sendable, Equatable {
    public var certificateFile: String
    public var keyFile: String

    public init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }

    /// Fails with a line that names the file at fault.
    func makeContext() throws -> NIOSSLContext {
        let chain: [NIOSSLCertificateSource]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
        } catch {
            throw RelayStartError("cannot read the TLS certificate \(certificateFile) (a PEM file such as fullchain.pem): \(error)")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } catch {
            throw RelayStartError("cannot read the TLS key \(keyFile) (an unencrypted PEM private key such as privkey.pem): \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        // TLS 1.0 and 1.1 are broken and deprecated (RFC 8996).
        configuration.minimumTLSVersion = .tlsv12
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw RelayStartError("the TLS certificate \(certificateFile) and key \(keyFile) do not work together (is it the key of that certificate?): \(error)")
        }
    }
}
