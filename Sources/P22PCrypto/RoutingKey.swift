@preconcurrency import Crypto
import P22PWire

/// The WebSocket path for a group: `/v1/` and the first 16 hex digits of
/// SHA-256(label || group). An L7 load balancer can hash the path to pin each
/// group to one relay node without learning the group's name.
public enum RoutingKey {
    public static func path(forGroup group: String) -> String {
        ProtocolVersion.pathPrefix + key(forGroup: group)
    }

    public static func key(forGroup group: String) -> String {
        let digest = SHA256.hash(data: Array("p22p-route-v1:".utf8) + Array(group.utf8))
        return digest.prefix(8).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
