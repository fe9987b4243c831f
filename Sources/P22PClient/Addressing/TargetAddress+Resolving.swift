import NIOCore
import NIOPosix

extension TargetAddress {
    /// The socket address to dial: an IP literal as it is, a host name
    /// resolved once on the thread pool, off the event loop (so what is
    /// dialled is exactly what the allow list checked).
    func resolved(on eventLoop: EventLoop) -> EventLoopFuture<SocketAddress> {
        if let literal = try? SocketAddress(ipAddress: host, port: port) {
            return eventLoop.makeSucceededFuture(literal)
        }
        let (host, port) = (host, port)
        return NIOThreadPool.singleton.runIfActive(eventLoop: eventLoop) {
            try SocketAddress.makeAddressResolvingHost(host, port: port)
        }
    }
}
