import NIOCore

/// Sits on an accepted local connection until a stream takes it over. Reading
/// is off meanwhile, but NIO drains a socket to its end once it sees EOF, so a
/// program that sends and shuts down its side while its connection waits
/// would otherwise lose both: the bytes and the FIN are kept here and handed
/// to the stream (`ForwardedStream.attach`).
final class HeldLocalInput: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private(set) var reads: [ByteBuffer] = []
    private(set) var inputClosed = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reads.append(unwrapInboundIn(data))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            inputClosed = true
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
