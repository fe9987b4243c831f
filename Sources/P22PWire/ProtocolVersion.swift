/// The protocol generation both ends must agree on before anything else.
public enum ProtocolVersion {
    public static let current: UInt8 = 3
    /// WebSocket subprotocol; a relay that does not list it refuses the upgrade.
    public static let subprotocol = "p22p.v1"
    /// Prefix of every WebSocket path; the rest is the group's routing key.
    public static let pathPrefix = "/v1/"
}
