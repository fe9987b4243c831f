import NIOCore
import P22PWire

/// The member's end of the link (WebSocket or stream): decodes frames and hands them to the
/// `Member`, and tells it about writability and the link's end.
final class MemberConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let member: Member

    init(member: Member) { self.member = member }

    /// The relay's hello can arrive in the same read as the upgrade response,
    /// before the dialer hands the channel over: the member must be able to
    /// answer from the first byte.
    func handlerAdded(context: ChannelHandlerContext) {
        member.attach(context.channel)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        do {
            switch try Frame.decode(buffer) {
            case .control(let message): member.handle(message)
            case .relayed(let source, let payload): member.handleRelayed(from: source, payload: payload)
            }
        } catch {
            member.linkFailed(MemberError.protocolViolation("malformed frame from the relay: \(error)"))
            context.close(promise: nil)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        member.linkWritabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        member.linkFailed(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        member.linkClosed()
        context.fireChannelInactive()
    }
}
