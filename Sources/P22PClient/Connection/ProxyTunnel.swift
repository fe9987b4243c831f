import Foundation
import NIOCore
import P22PTransport

/// Opens a tunnel to the relay through a proxy, first thing on a new
/// connection: HTTP `CONNECT` (RFC 9110 9.3.6, Basic credentials) or SOCKS5
/// (RFC 1928, user name and password per RFC 1929). The relay's host name is
/// passed to the proxy, which resolves it. Completes `done` once the tunnel
/// is up; the caller then removes this handler and sets up TLS and the
/// WebSocket on the tunnel.
final class ProxyTunnel: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Step {
        case httpResponse
        case socksMethod
        case socksLogin
        case socksConnect
        case open
    }

    private let proxy: ProxyURL
    private let targetHost: String
    private let targetPort: Int
    private let done: EventLoopPromise<Void>
    private var step: Step
    private var input = ByteBuffer()
    /// A proxy that talks on and on before answering is not one.
    private static let maxAnswer = 16 * 1024

    init(proxy: ProxyURL, host: String, port: Int, done: EventLoopPromise<Void>) {
        self.proxy = proxy
        self.targetHost = host
        self.targetPort = port
        self.done = done
        self.step = proxy.kind == .http ? .httpResponse : .socksMethod
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private var started = false

    private func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        switch proxy.kind {
        case .http:
            let authority = readableAddress(host: targetHost, port: targetPort)
            var request = "CONNECT \(authority) HTTP/1.1\r\nHost: \(authority)\r\n"
            if let username = proxy.username {
                let token = Data("\(username):\(proxy.password ?? "")".utf8).base64EncodedString()
                request += "Proxy-Authorization: Basic \(token)\r\n"
            }
            request += "\r\n"
            send(Array(request.utf8), context: context)
        case .socks5:
            // No authentication, and user name/password when we have them.
            send(proxy.username == nil ? [5, 1, 0] : [5, 2, 0, 2], context: context)
        }
    }

    private func send(_ bytes: [UInt8], context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        guard step != .open else { return context.fireChannelRead(data) }
        input.writeBuffer(&bytes)
        guard input.readableBytes <= Self.maxAnswer else { return fail("sent more than \(Self.maxAnswer) bytes without an answer", context: context) }
        while step != .open, advance(context: context) {}
    }

    /// Consumes one answer if it is complete; false when more bytes are needed.
    private func advance(context: ChannelHandlerContext) -> Bool {
        switch step {
        case .httpResponse:
            guard let end = input.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) else { return false }
            let head = input.readString(length: end.upperBound - input.readerIndex) ?? ""
            let statusLine = head.prefix { $0 != "\r" }
            let fields = statusLine.split(separator: " ", maxSplits: 2)
            guard fields.count >= 2, fields[0].hasPrefix("HTTP/1."), let code = Int(fields[1]) else {
                fail("does not speak HTTP (it answered \"\(statusLine.prefix(80))\")", context: context)
                return false
            }
            guard (200..<300).contains(code) else {
                let hint = code == 407 ? (proxy.username == nil ? "; it wants a user name and password (http://USER:PASSWORD@HOST:PORT)" : "; check the user name and password") : ""
                fail("refused CONNECT: \(fields.dropFirst().joined(separator: " "))\(hint)", context: context)
                return false
            }
            opened(context: context)
        case .socksMethod:
            guard let answer = input.readBytes(length: 2) else { return false }
            guard answer[0] == 5 else {
                fail("does not speak SOCKS5", context: context)
                return false
            }
            switch answer[1] {
            case 0:
                sendConnect(context: context)
            case 2 where proxy.username != nil:
                let user = Array((proxy.username ?? "").utf8.prefix(255))
                let password = Array((proxy.password ?? "").utf8.prefix(255))
                send([1, UInt8(user.count)] + user + [UInt8(password.count)] + password, context: context)
                step = .socksLogin
            default:
                fail(proxy.username == nil ? "wants a user name and password (socks5://USER:PASSWORD@HOST:PORT)"
                                           : "accepts none of our ways to log in", context: context)
                return false
            }
        case .socksLogin:
            guard let answer = input.readBytes(length: 2) else { return false }
            guard answer[1] == 0 else {
                fail("refused the user name or password", context: context)
                return false
            }
            sendConnect(context: context)
        case .socksConnect:
            // VER REP RSV ATYP BND.ADDR BND.PORT; the address's length depends on its type.
            guard input.readableBytes >= 5, let type = input.getInteger(at: input.readerIndex + 3, as: UInt8.self),
                  let second = input.getInteger(at: input.readerIndex + 4, as: UInt8.self) else { return false }
            let addressLength: Int
            switch type {
            case 1: addressLength = 4
            case 4: addressLength = 16
            case 3: addressLength = 1 + Int(second)
            default:
                fail("answered with an unknown address type \(type)", context: context)
                return false
            }
            guard let answer = input.readBytes(length: 4 + addressLength + 2) else { return false }
            guard answer[1] == 0 else {
                fail("refused to connect to \(targetHost):\(targetPort): \(Self.socksReply(answer[1]))", context: context)
                return false
            }
            opened(context: context)
        case .open:
            return false
        }
        return true
    }

    private func sendConnect(context: ChannelHandlerContext) {
        var request: [UInt8] = [5, 1, 0]
        if let address = try? SocketAddress(ipAddress: targetHost, port: targetPort) {
            switch address {
            case .v4(let v4): request += [1] + withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
            case .v6(let v6): request += [4] + withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            default: break
            }
        } else {
            let name = Array(targetHost.utf8.prefix(255))
            request += [3, UInt8(name.count)] + name
        }
        request += [UInt8(targetPort >> 8), UInt8(targetPort & 0xFF)]
        send(request, context: context)
        step = .socksConnect
    }

    private func opened(context: ChannelHandlerContext) {
        step = .open
        done.succeed(())
        // Nothing should follow the answer before we speak; if something
        // does, it belongs to the tunnel.
        if input.readableBytes > 0 {
            let rest = input
            input = ByteBuffer()
            context.fireChannelRead(wrapInboundOut(rest))
        }
    }

    private func fail(_ reason: String, context: ChannelHandlerContext) {
        step = .open
        done.fail(MemberError.proxyFailed(proxy, reason: reason))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if step != .open { done.fail(MemberError.proxyFailed(proxy, reason: "closed the connection before the tunnel was open")) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if step != .open {
            done.fail(MemberError.proxyFailed(proxy, reason: "failed: \(describeSocketError(error))"))
            context.close(promise: nil)
        } else {
            context.fireErrorCaught(error)
        }
    }

    private static func socksReply(_ code: UInt8) -> String {
        switch code {
        case 1: "general failure"
        case 2: "not allowed by its rules"
        case 3: "network unreachable"
        case 4: "host unreachable"
        case 5: "connection refused"
        case 6: "TTL expired"
        case 7: "command not supported"
        case 8: "address type not supported"
        default: "reply code \(code)"
        }
    }
}
