import P22PWire

/// Where a relayed frame may go, decided from the group's facts alone.
enum Routing {
    enum Decision: Equatable {
        case deliver
        /// Told to the sender; `reason` empty when the peer is simply gone.
        case undeliverable(reason: String)
        /// A protocol violation: the connection is closed.
        case disconnect(reason: String)
    }

    struct Frame: Equatable {
        var source: CID
        var destination: CID
        var senderJoined: Bool
        var hasPayload: Bool
        var destinationPresent: Bool
        var group: String
        var creatorOnly: Bool
        var creator: CID?
    }

    static func decide(_ frame: Frame) -> Decision {
        guard frame.senderJoined else { return .disconnect(reason: "relayed frame before joining a group") }
        guard frame.hasPayload else { return .disconnect(reason: "empty relayed frame") }
        guard frame.destination != frame.source, frame.destinationPresent else { return .undeliverable(reason: "") }
        if frame.creatorOnly, let creator = frame.creator, frame.source != creator, frame.destination != creator {
            return .undeliverable(reason: "group \(frame.group) is creator-only: members can only reach its creator")
        }
        return .deliver
    }
}
