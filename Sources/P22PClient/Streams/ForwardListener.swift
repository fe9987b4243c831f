import NIOCore
import NIOPosix

/// A local listening socket for one forward. Each accepted connection becomes
/// a stream to the forward's peer.
final class ForwardListener {
    let spec: ForwardSpec
    let channel: Channel
    let port: Int

    private init(spec: ForwardSpec, channel: Channel) {
        self.spec = spec
        self.channel = channel
        self.port = channel.localAddress?.port ?? spec.listen.port
    }

    static func start(_ spec: ForwardSpec, member: Member) -> EventLoopFuture<ForwardListener> {
        ServerBootstrap(group: member.eventLoop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                accept(channel, spec: spec, member: member)
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: spec.listen.host, port: spec.listen.port)
            .flatMapErrorThrowing { error in
                throw MemberError.invalidConfiguration("cannot listen on \(spec.listen): \(error)")
            }
            .map { ForwardListener(spec: spec, channel: $0) }
    }

    private static func accept(_ channel: Channel, spec: ForwardSpec, member: Member) {
        guard let peer = member.resolve(spec.peer) else {
            member.logger.warning("closing connection to \(spec.listen.host):\(channel.localAddress?.port ?? 0): peer \(spec.peer) is not in group \(member.configuration.group)")
            channel.close(promise: nil)
            return
        }
        _ = member.session(for: peer.cid).openStream(target: spec.target, local: channel)
    }

    func close() -> EventLoopFuture<Void> {
        channel.close().recover { _ in }
    }
}
