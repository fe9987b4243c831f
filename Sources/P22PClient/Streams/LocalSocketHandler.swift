import NIOCore

/// Glue between a local TCP socket and its `ForwardedStream`: reads, read
/// requests, half-close and errors go to the stream, which decides.
final class LocalSocketHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer

    private let stream: ForwardedStream

    init(stream: ForwardedStream) { self.stream = stream }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        stream.localRead(unwrapInboundIn(data))
    }

    func read(context: ChannelHandlerContext) {
        if stream.localReadRequested() { context.read() }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            stream.localInputClosed()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        stream.localFailed(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        stream.localClosed()
        context.fireChannelInactive()
    }
}
