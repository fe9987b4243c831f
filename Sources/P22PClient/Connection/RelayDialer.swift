#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS
import NIOWebSocket
import P22PCrypto
import P22PTransport
import P22PWire

/// Opens the link to a relay for one group: TCP (through a proxy's tunnel if
/// one is given; then TLS for wss:// and tls://), then for a WebSocket the
/// HTTP upgrade with subprotocol p22p.v1 on the group's routing path, or for
/// tcp:// and tls:// the preamble with the group's routing key; then the
/// message handlers. Fails with a `MemberError` the user can act on.
enum RelayDialer {
    static func connect(
        to url: ServerURL, group: String, tls: TLSOptions, keepalive: Keepalive, maxFrameSize: Int,
        on eventLoop: EventLoop, proxy: ProxyURL? = nil, connectTimeout: TimeAmount = .seconds(10), logger: Logger? = nil,
        makeHandler: @escaping @Sendable () -> ChannelHandler
    ) -> EventLoopFuture<Channel> {
        let sslContext: NIOSSLContext?
        do {
            sslContext = url.secure ? try makeSSLContext(tls) : nil
        } catch {
            return eventLoop.makeFailedFuture(MemberError.cannotConnect(url, reason: "TLS setup (--ca-file?): \(error)"))
        }
        let upgraded = eventLoop.makePromise(of: Void.self)
        // For wss:// and tls://, nothing is written until the certificate passed every check.
        let tlsReady = eventLoop.makePromise(of: Void.self)
        let path = url.pathPrefix + RoutingKey.path(forGroup: group)
        // TLS and the WebSocket go on the connection once it reaches the relay:
        // at once, or once the proxy opened its tunnel.
        let setUpRelayPipeline: @Sendable (Channel) -> EventLoopFuture<Void> = { channel in
            channel.eventLoop.makeCompletedFuture {
                if let sslContext {
                    let handler = try NIOSSLClientHandler(context: sslContext, serverHostname: url.host.isIPAddress ? nil : url.host)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    try channel.pipeline.syncOperations.addHandler(CertificatePinCheck(pin: tls.pinSHA256, url: url, ready: tlsReady, logger: logger))
                } else {
                    tlsReady.succeed(())
                }
                guard url.transport == .webSocket else { return }
                let catcher = UpgradeFailureCatcher(promise: upgraded, url: url)
                let boundCatcher = NIOLoopBound(catcher, eventLoop: channel.eventLoop)
                let upgrader = WebSocketClientUpgrader(
                    upgradePipelineHandler: { channel, response in
                        guard response.headers[canonicalForm: "Sec-WebSocket-Protocol"].contains(where: { $0 == ProtocolVersion.subprotocol }) else {
                            upgraded.fail(MemberError.protocolViolation("the relay did not accept subprotocol \(ProtocolVersion.subprotocol)"))
                            return channel.close()
                        }
                        return channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandlers([
                                LinkMessageHandler(wire: .webSocket(.client), keepalive: keepalive, maxMessageSize: maxFrameSize),
                                makeHandler(),
                            ])
                            upgraded.succeed(())
                        }
                    })
                try channel.pipeline.syncOperations.addHTTPClientHandlers(
                    leftOverBytesStrategy: .forwardBytes,
                    withClientUpgrade: (upgraders: [upgrader], completionHandler: { context in
                        context.pipeline.syncOperations.removeHandler(boundCatcher.value, promise: nil)
                    }))
                try channel.pipeline.syncOperations.addHandler(catcher)
            }
        }
        let tunnel = eventLoop.makePromise(of: Void.self)
        if proxy == nil { tunnel.succeed(()) }
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: LinkReads.allocator)
            .channelInitializer { channel in
                guard let proxy else { return setUpRelayPipeline(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ProxyTunnel(proxy: proxy, host: url.host, port: url.port, done: tunnel))
                }
            }
        let dialled: (host: String, port: Int) = proxy.map { ($0.host, $0.port) } ?? (url.host, url.port)
        return bootstrap.connect(host: dialled.host, port: dialled.port)
            .flatMapErrorThrowing { error in
                // The sentence below is for the user; NIO's own account is for debugging.
                logger?.debug("connecting to \(readableAddress(host: dialled.host, port: dialled.port)) failed: \(error)")
                let failure = proxy.map { MemberError.proxyFailed($0, reason: "cannot be reached: \(describeConnectFailure(to: $0.address, error))") }
                    ?? MemberError.cannotConnect(url, reason: describeConnectFailure(to: url.address, error))
                upgraded.fail(failure)
                tlsReady.fail(failure)
                tunnel.fail(failure)
                throw failure
            }
            .flatMap { channel in
                guard let proxy else { return channel.eventLoop.makeSucceededFuture(channel) }
                let timeout = channel.eventLoop.scheduleTask(in: connectTimeout) {
                    tunnel.fail(MemberError.proxyFailed(proxy, reason: "did not open a tunnel to \(url.address) within \(connectTimeout.seconds) s"))
                }
                return tunnel.futureResult.flatMap {
                    timeout.cancel()
                    do {
                        let handler = try channel.pipeline.syncOperations.handler(type: ProxyTunnel.self)
                        return channel.pipeline.syncOperations.removeHandler(handler)
                    } catch {
                        return channel.eventLoop.makeFailedFuture(error)
                    }
                }
                .flatMap { setUpRelayPipeline(channel) }
                .map { channel }
                .flatMapError { error in
                    timeout.cancel()
                    channel.close(promise: nil)
                    upgraded.fail(error)
                    tlsReady.fail(error)
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .flatMap { channel in
                channel.closeFuture.whenComplete { _ in
                    tlsReady.fail(MemberError.cannotConnect(url, reason: "connection closed during the TLS handshake"))
                }
                return tlsReady.futureResult.map { channel }.flatMapError { error in
                    channel.close(promise: nil)
                    upgraded.fail(error)
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .flatMap { channel in
                switch url.transport {
                case .webSocket:
                    requestUpgrade(on: channel, url: url, path: path, upgraded: upgraded)
                case .stream:
                    startStream(on: channel, url: url, group: group, keepalive: keepalive, maxFrameSize: maxFrameSize,
                                greeted: upgraded, handler: makeHandler())
                }
                let timeout = channel.eventLoop.scheduleTask(in: connectTimeout) {
                    let awaited = url.transport == .stream ? "greeting from the relay" : "WebSocket handshake"
                    upgraded.fail(MemberError.cannotConnect(url, reason: "no \(awaited) within \(connectTimeout.nanoseconds / 1_000_000_000) s"))
                    channel.close(promise: nil)
                }
                return upgraded.futureResult.map {
                    timeout.cancel()
                    return channel
                }.flatMapError { error in
                    timeout.cancel()
                    channel.close(promise: nil)
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
    }

    /// Sends the WebSocket upgrade request; `upgraded` tells how it went.
    private static func requestUpgrade(on channel: Channel, url: ServerURL, path: String, upgraded: EventLoopPromise<Void>) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: url.address)
        headers.add(name: "Sec-WebSocket-Protocol", value: ProtocolVersion.subprotocol)
        headers.add(name: "Content-Length", value: "0")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        channel.closeFuture.whenComplete { _ in
            upgraded.fail(MemberError.cannotConnect(url, reason: "connection closed during the WebSocket handshake"))
        }
    }

    /// Puts the stream framing on the connection and sends the preamble;
    /// `greeted` succeeds when the relay's first frame begins as one should.
    private static func startStream(on channel: Channel, url: ServerURL, group: String, keepalive: Keepalive, maxFrameSize: Int,
                                    greeted: EventLoopPromise<Void>, handler: ChannelHandler) {
        channel.closeFuture.whenComplete { _ in
            greeted.fail(MemberError.cannotConnect(url, reason: "the relay closed the connection before greeting (see its log: a limit, or not its --listen-tcp port?)"))
        }
        do {
            try channel.pipeline.syncOperations.addHandlers([
                StreamGreetingCheck(url: url, greeted: greeted),
                LinkMessageHandler(wire: .stream, keepalive: keepalive, maxMessageSize: maxFrameSize),
                handler,
            ])
        } catch {
            greeted.fail(error)
            return
        }
        channel.writeAndFlush(ByteBuffer(bytes: StreamFraming.preamble(routingKey: RoutingKey.key(forGroup: group))), promise: nil)
    }

    private static func makeSSLContext(_ options: TLSOptions) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        // TLS 1.0 and 1.1 are broken and deprecated (RFC 8996).
        configuration.minimumTLSVersion = .tlsv12
        if let caFile = options.caFile {
            configuration.trustRoots = .file(caFile)
        }
        return try NIOSSLContext(configuration: configuration)
    }
}

/// Reads the HTTP response when the relay refuses to upgrade, so the user sees
/// the relay's own reason instead of a bare status code.
private final class UpgradeFailureCatcher: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<Void>
    private let url: ServerURL
    private var status = 0
    private var body = ""

    init(promise: EventLoopPromise<Void>, url: ServerURL) {
        self.promise = promise
        self.url = url
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = Int(head.status.code)
        case .body(var buffer): if body.utf8.count < 512 { body += buffer.readString(length: buffer.readableBytes) ?? "" }
        case .end:
            promise.fail(MemberError.relayRejected(status: status, message: body.trimmingCharacters(in: .whitespacesAndNewlines)))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if error is NIOSSLError {
            promise.fail(MemberError.cannotConnect(url, reason: describeTLSFailure(error)))
        } else {
            promise.fail(MemberError.protocolViolation("during the WebSocket handshake: \(error)"))
        }
        context.close(promise: nil)
    }
}

extension String {
    var isIPAddress: Bool { (try? SocketAddress(ipAddress: self, port: 0)) != nil }
}

/// A TLS failure in words a user can act on; never a silent fallback to ws://.
/// `certificate` is the one the relay presented, when the handshake got that
/// far: its dates explain the commonest refusal, an expired certificate.
func describeTLSFailure(_ error: Error, certificate: NIOSSLCertificate? = nil, host: String = "the relay") -> String {
    let text = "\(error)"
    if text.contains("CERTIFICATE_VERIFY_FAILED") {
        let now = time(nil)
        if let certificate, certificate.notValidAfter < now {
            return "TLS: the certificate of \(host) expired on \(certificateDate(certificate.notValidAfter)); whoever runs the relay must renew it"
        }
        if let certificate, certificate.notValidBefore > now {
            return "TLS: the certificate of \(host) is not valid until \(certificateDate(certificate.notValidBefore)); check this machine's clock"
        }
        return "TLS: the relay's certificate is not trusted (CERTIFICATE_VERIFY_FAILED); if a private CA signed it, pass its certificate with --ca-file"
    }
    if text.contains("hostname") || text.contains("HostnameMismatch") || text.contains("unableToValidateCertificate") {
        return "TLS: the relay's certificate does not match its address: \(text)"
    }
    return "TLS handshake failed: \(text)"
}

/// "2026-11-30 10:03 UTC": a certificate's dates are in UTC.
private func certificateDate(_ seconds: time_t) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
    return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
}

/// Fails the connection before any request is sent if the relay's
/// certificate is not the pinned one.
private final class CertificatePinCheck: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let pin: [UInt8]?
    private let url: ServerURL
    private let ready: EventLoopPromise<Void>
    private let logger: Logger?

    init(pin: [UInt8]?, url: ServerURL, ready: EventLoopPromise<Void>, logger: Logger?) {
        self.pin = pin
        self.url = url
        self.ready = ready
        self.logger = logger
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            if let pin {
                let handler = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self)
                let der = (try? handler?.peerCertificate?.toDERBytes()) ?? nil
                let actual = der.map { Array(SHA256.hash(data: $0)) }
                guard actual == pin else {
                    let shown = actual.map { $0.map { String(format: "%02x", $0) }.joined() } ?? "none"
                    ready.fail(MemberError.cannotConnect(url, reason: "TLS: the relay's certificate (SHA-256 \(shown)) does not match the pinned one"))
                    context.close(promise: nil)
                    return
                }
            }
            ready.succeed(())
            context.fireUserInboundEventTriggered(event)
            // Its work is done: a later error on the link is not a TLS failure.
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // The certificate the relay presented, kept although it failed the checks.
        let presented = (try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self))?.peerCertificate
        logger?.debug("TLS with \(url.address) failed: \(error)")
        ready.fail(MemberError.cannotConnect(url, reason: describeTLSFailure(error, certificate: presented, host: url.host)))
        context.fireErrorCaught(error)
    }
}

/// Checks that what answers on a tcp:// or tls:// address speaks p22p's
/// stream framing: its first byte must start a message frame (the relay's
/// hello). A WebSocket port answers with HTTP, which is named as such.
private final class StreamGreetingCheck: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let url: ServerURL
    private let greeted: EventLoopPromise<Void>

    init(url: ServerURL, greeted: EventLoopPromise<Void>) {
        self.url = url
        self.greeted = greeted
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        guard let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) else { return }
        guard first == 0x02 else {
            greeted.fail(MemberError.cannotConnect(url, reason: describe(first: first, bytes)))
            context.close(promise: nil)
            return
        }
        greeted.succeed(())
        context.fireChannelRead(data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    /// Why the first bytes are not a greeting, in words that name the fix.
    private func describe(first: UInt8, _ bytes: ByteBuffer) -> String {
        let address = url.address
        if bytes.readableBytesView.starts(with: Array("HTTP/".utf8)) {
            return "\(address) answered in HTTP: it is a WebSocket port; use ws:// or wss://, or the relay's --listen-tcp port"
        }
        if first == 0x15 || first == 0x16 {
            return "\(address) answered in TLS: the relay serves tls:// there (--tls-cert); use tls://\(address)"
        }
        // The relay's refusal, as a close frame (a preamble of another version).
        if first == 0x08, var payload = bytes.getSlice(at: bytes.readerIndex + StreamFraming.headerSize,
                                                       length: bytes.readableBytes - StreamFraming.headerSize) {
            _ = payload.readInteger(as: UInt16.self)
            return "the relay at \(address) refused the link: \(payload.readString(length: payload.readableBytes) ?? "")"
        }
        return "\(address) does not speak p22p's stream framing; is it the relay's --listen-tcp port?"
    }
}
