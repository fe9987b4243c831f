import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// The opening handshake of RFC 6455 (section 4), with our own framing
/// installed afterwards instead of NIO's (see `LinkMessageHandler`).
public enum WebSocketHandshake {
    /// The Sec-WebSocket-Accept value that proves a server read this key.
    public static func acceptValue(forKey key: String) -> String {
        Data(Insecure.SHA1.hash(data: Data((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))).base64EncodedString()
    }

    /// A fresh Sec-WebSocket-Key: 16 random bytes, base64.
    static func makeKey() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }).base64EncodedString()
    }
}

/// The client's half: asks for the upgrade, checks the server's proof, then
/// hands the channel to `upgradePipelineHandler` to add a
/// `LinkMessageHandler` and what goes above it.
public final class WebSocketClientUpgrader: NIOHTTPClientProtocolUpgrader {
    public let supportedProtocol = "websocket"
    public let requiredUpgradeHeaders: [String] = []

    private let key = WebSocketHandshake.makeKey()
    private let upgradePipelineHandler: (Channel, HTTPResponseHead) -> EventLoopFuture<Void>

    public init(upgradePipelineHandler: @escaping (Channel, HTTPResponseHead) -> EventLoopFuture<Void>) {
        self.upgradePipelineHandler = upgradePipelineHandler
    }

    public func addCustom(upgradeRequestHeaders: inout HTTPHeaders) {
        upgradeRequestHeaders.add(name: "Sec-WebSocket-Key", value: key)
        upgradeRequestHeaders.add(name: "Sec-WebSocket-Version", value: "13")
    }

    public func shouldAllowUpgrade(upgradeResponse: HTTPResponseHead) -> Bool {
        upgradeResponse.headers["Sec-WebSocket-Accept"] == [WebSocketHandshake.acceptValue(forKey: key)]
    }

    public func upgrade(context: ChannelHandlerContext, upgradeResponse: HTTPResponseHead) -> EventLoopFuture<Void> {
        upgradePipelineHandler(context.channel, upgradeResponse)
    }
}

/// The server's half: `shouldUpgrade` decides from the request (nil refuses,
/// and the request goes on to the next handler as plain HTTP), then
/// `upgradePipelineHandler` adds a `LinkMessageHandler` and what goes
/// above it.
public final class WebSocketServerUpgrader: HTTPServerProtocolUpgrader, Sendable {
    public let supportedProtocol = "websocket"
    public let requiredUpgradeHeaders: [String] = []

    private let shouldUpgrade: @Sendable (HTTPRequestHead) -> HTTPHeaders?
    private let upgradePipelineHandler: @Sendable (Channel, HTTPRequestHead) -> EventLoopFuture<Void>

    public init(shouldUpgrade: @escaping @Sendable (HTTPRequestHead) -> HTTPHeaders?,
                upgradePipelineHandler: @escaping @Sendable (Channel, HTTPRequestHead) -> EventLoopFuture<Void>) {
        self.shouldUpgrade = shouldUpgrade
        self.upgradePipelineHandler = upgradePipelineHandler
    }

    public func buildUpgradeResponse(channel: Channel, upgradeRequest: HTTPRequestHead,
                                     initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        let keys = upgradeRequest.headers["Sec-WebSocket-Key"]
        guard keys.count == 1, upgradeRequest.headers["Sec-WebSocket-Version"] == ["13"] else {
            return channel.eventLoop.makeFailedFuture(NIOWebSocketUpgradeError.invalidUpgradeHeader)
        }
        guard var headers = shouldUpgrade(upgradeRequest) else {
            return channel.eventLoop.makeFailedFuture(NIOWebSocketUpgradeError.unsupportedWebSocketTarget)
        }
        headers.add(contentsOf: initialResponseHeaders)
        headers.replaceOrAdd(name: "Upgrade", value: "websocket")
        headers.replaceOrAdd(name: "Connection", value: "upgrade")
        headers.add(name: "Sec-WebSocket-Accept", value: WebSocketHandshake.acceptValue(forKey: keys[0]))
        return channel.eventLoop.makeSucceededFuture(headers)
    }

    public func upgrade(context: ChannelHandlerContext, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<Void> {
        upgradePipelineHandler(context.channel, upgradeRequest)
    }
}
