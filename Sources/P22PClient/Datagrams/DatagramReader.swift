import Logging
import NIOCore
import NIOPosix

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
        logger.debug("UDP socket \(context.channel.localAddress?.readable ?? "?"): \(error)")
    }
}

/// The read buffer for every UDP socket: room for the largest datagram UDP
/// can carry, so none is cut short.
let datagramReceiveBuffer = FixedSizeRecvByteBufferAllocator(capacity: 65_536)

extension DatagramBootstrap {
    /// Options every p22p UDP socket takes. The kernel's default receive
    /// buffer (208 KiB) holds about 90 small datagrams: at 2,000 a second,
    /// a 45 ms pause of the event loop overflows it and the kernel drops the
    /// rest without a word. 2 MiB (or the system's net.core.rmem_max, if
    /// lower) rides out such pauses; more reads per wake-up drain it faster.
    func p22pDatagramOptions() -> DatagramBootstrap {
        channelOption(.recvAllocator, value: datagramReceiveBuffer)
            .channelOption(.socketOption(.so_rcvbuf), value: 2 << 20)
            .channelOption(.maxMessagesPerRead, value: 16)
    }
}
