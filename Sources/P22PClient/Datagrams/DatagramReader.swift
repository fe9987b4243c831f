import Logging
import NIOCore

/// Hands every datagram a UDP socket reads to its owner.
final class DatagramReader: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let onDatagram: (ByteBuffer, SocketAddress) -> Void
    private let logger: Logger

    init(logger: Logger, onDatagram: @escaping (ByteBuffer, SocketAddress) -> Void) {
        self.logger = logger
        self.onDatagram = onDatagram
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        onDatagram(envelope.data, envelope.remoteAddress)
    }

    /// A connected UDP socket reports an ICMP "port unreachable" from its
    /// target as a read error; the flow goes on (the target may come back).
    func errorCaught(context: ChannelHandlerContext, error: Error) {
        logger.debug("UDP socket \(context.channel.localAddress.map { "\($0)" } ?? "?"): \(error)")
    }
}

/// The receive buffer for every UDP socket: room for the largest datagram
/// UDP can carry, so none is cut short.
let datagramReceiveBuffer = FixedSizeRecvByteBufferAllocator(capacity: 65_536)
