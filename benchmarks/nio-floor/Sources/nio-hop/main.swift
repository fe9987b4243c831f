import NIOCore
import NIOPosix

// nio-hop LISTEN_PORT TARGET_PORT: accepts on 127.0.0.1:LISTEN_PORT and
// joins each connection to a new one to 127.0.0.1:TARGET_PORT, writing what
// one side reads to the other with a flush per read, as p22p's members and
// relay do. One event loop, as p22p's relay has by default.

/// Writes what its channel reads to the partner channel, and closes the
/// partner when its channel closes.
final class Glue: ChannelInboundHandler, @unchecked Sendable {  // touched only on the one event loop
    typealias InboundIn = ByteBuffer
    var partner: Channel?
    var pending: [ByteBuffer] = []

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        if let partner { partner.writeAndFlush(bytes, promise: nil) } else { pending.append(bytes) }
    }

    func attach(_ channel: Channel) {
        partner = channel
        for bytes in pending { channel.write(bytes, promise: nil) }
        pending.removeAll()
        channel.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.close(promise: nil)
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let listenPort = Int(arguments[1]), let targetPort = Int(arguments[2]) else {
    print("usage: nio-hop LISTEN_PORT TARGET_PORT")
    exit(2)
}
let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
let server = try ServerBootstrap(group: group)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { inbound in
        let inboundGlue = Glue()
        let outboundGlue = Glue()
        return inbound.pipeline.addHandler(inboundGlue).flatMap {
            ClientBootstrap(group: inbound.eventLoop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { $0.pipeline.addHandler(outboundGlue) }
                .connect(host: "127.0.0.1", port: targetPort)
        }.map { outbound in
            outboundGlue.attach(inbound)
            inboundGlue.attach(outbound)
        }
    }
    .bind(host: "127.0.0.1", port: listenPort).wait()
print("nio-hop listening on \(listenPort), forwarding to \(targetPort)")
try server.closeFuture.wait()
