/// The version the tools print.
public enum P22PVersion {
    public static let current = "0.1.0"
    /// What `--version` prints: the release, and the protocol it speaks,
    /// which is what decides whether two installs work together.
    public static let withProtocol = "\(current) (protocol \(ProtocolVersion.subprotocol), revision \(ProtocolVersion.current))"
}
