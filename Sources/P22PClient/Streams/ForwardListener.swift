import NIOCore
import NIOPosix
import P22PTransport

/// A local listening socket for one forward. What happens to an accepted
/// connection is up to the owner: a `Member` opens a stream at once, the
/// daemon may first wait for its link or the peer.
public final class ForwardListener: Sendable {
    public let spec: ForwardSpec
    public let port: Int
    private let channel: Channel

    private init(spec: ForwardSpec, channel: Channel) {
        self.spec = spec
        self.channel = channel
        self.port = channel.localAddress?.port ?? spec.listen.port
    }

    /// Binds `spec.listen`. Accepted connections do not read until a stream
    /// takes them over; `accept` runs on `eventLoop`.
    public static func start(_ spec: ForwardSpec, on eventLoop: EventLoop,
                             accept: @escaping @Sendable (Channel) -> Void) -> EventLoopFuture<ForwardListener> {
        ServerBootstrap(group: eventLoop)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HeldLocalInput())
                    accept(channel)
                }
            }
            .bind(host: spec.listen.host, port: spec.listen.port)
            .flatMapErrorThrowing { error in
                throw MemberError.invalidConfiguration("cannot listen on \(spec.listen): \(describeSocketError(error))")
            }
            .map { ForwardListener(spec: spec, channel: $0) }
    }

    public func close() -> EventLoopFuture<Void> {
        channel.close().recover { _ in }
    }
}
