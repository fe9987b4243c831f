import P22PTransport
import P22PWire

/// Everything needed to be one member of one group.
public struct MemberConfiguration: Sendable {
    public enum JoinMode: Sendable, Equatable { case create, join }

    public var server: ServerURL
    public var group: String
    public var name: String
    public var mode: JoinMode
    public var allowList: AllowList
    public var tls: TLSOptions
    public var keepalive: Keepalive
    /// Bytes each stream may have in flight toward us before we grant more.
    public var streamWindow: Int
    public var maxFrameSize: Int
    /// Identifies this client process to the relay, so a reconnect replaces
    /// its own stale session instead of finding its name in use.
    public var instance: [UInt8] = MemberConfiguration.processInstance
    /// The reservation key file's bytes, for creating a `#` group.
    public var reservation: [UInt8] = []

    public static let processInstance: [UInt8] = {
        var generator = SystemRandomNumberGenerator()
        return (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }()

    public init(
        server: ServerURL = .default, group: String, name: String, mode: JoinMode,
        allowList: AllowList = AllowList(), tls: TLSOptions = TLSOptions(),
        keepalive: Keepalive = .standard, streamWindow: Int = 1 << 20,
        maxFrameSize: Int = Limits.defaultMaxFrameSize
    ) {
        self.server = server
        self.group = group
        self.name = name
        self.mode = mode
        self.allowList = allowList
        self.tls = tls
        self.keepalive = keepalive
        self.streamWindow = streamWindow
        self.maxFrameSize = maxFrameSize
    }
}
