import NIOCore
import NIOWebSocket

/// Turns a relay link into a channel of whole binary messages for the layers
/// above, and owns everything about the link's framing they should not see:
/// masking, ping/pong, the close handshake and the keepalive timer. The link
/// is a WebSocket (ws://, wss://) or speaks p22p's stream framing (tcp://,
/// tls://), which has the same frame kinds without the HTTP and the masking.
///
/// Inbound it parses the socket's bytes (`WebSocketFrameParser` or
/// `StreamFrameParser`) and emits the payloads of binary messages as
/// `ByteBuffer`s; parsing here rather than in a handler of its own saves
/// boxing every frame on its way between two handlers. Outbound it takes
/// messages already framed with `LinkFramer` (see there why) and passes them on. When the
/// peer closes, a `TransportError.closedByPeer` is fired as an error before
/// the channel closes, so the owner can log why; a frame that breaks the
/// protocol is answered with a close frame giving the reason.
public final class LinkMessageHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private let framer: LinkFramer
    /// One of the two, as `wire` says; optionals rather than an enum so
    /// parsing mutates them in place (a copy would copy a partial frame).
    private var webSocketParser: WebSocketFrameParser?
    private var streamParser: StreamFrameParser?
    /// Input that arrived while a message was being handled: a write made
    /// there can make NIO read the socket and call us again, and the parser
    /// must not be entered twice (nor messages overtake each other).
    private var inputDuringRead = CircularBuffer<ByteBuffer>(initialCapacity: 0)
    private var reading = false
    private let keepalive: Keepalive
    private var lastHeard = NIODeadline.now()
    private var timer: RepeatedTask?
    /// Fires when the peer has been silent for `keepalive.timeout`: a dead
    /// link is found at that moment, not at the next ping.
    private var silenceCheck: Scheduled<Void>?
    private var closeSent = false
    private var closeReceived = false
    /// At most one pong is queued (RFC 6455 5.5.3 allows answering only the
    /// latest ping): a peer that floods pings and never reads must not make
    /// us queue an answer to each.
    private var pongInFlight = false
    /// While the owner has stopped reading on purpose (backpressure), silence
    /// is expected and says nothing about the peer's health.
    private var readsSuspended = false

    public init(wire: LinkWire, keepalive: Keepalive, maxMessageSize: Int) {
        self.framer = wire.framer
        switch wire {
        case .webSocket(let role): webSocketParser = WebSocketFrameParser(role: role, maxMessageSize: maxMessageSize)
        case .stream: streamParser = StreamFrameParser(maxMessageSize: maxMessageSize)
        }
        self.keepalive = keepalive
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        lastHeard = .now()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: keepalive.interval, delay: keepalive.interval) { _ in
            let (handler, context) = loopBound.value
            handler.ping(context: context)
        }
        checkSilence(at: lastHeard + keepalive.timeout, context: context)
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        stopTimers()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        stopTimers()
        context.fireChannelInactive()
    }

    private func stopTimers() {
        timer?.cancel()
        timer = nil
        silenceCheck?.cancel()
        silenceCheck = nil
    }

    /// Checks at `deadline` whether the peer went silent; reads only move
    /// `lastHeard`, and the check re-arms itself from there.
    private func checkSilence(at deadline: NIODeadline, context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        silenceCheck = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.silenceCheckFired(context: context)
        }
    }

    private func silenceCheckFired(context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        let silence = now - lastHeard
        if silence >= keepalive.timeout, !readsSuspended {
            context.fireErrorCaught(TransportError.keepaliveTimeout(seconds: silence.nanoseconds / 1_000_000_000))
            context.close(promise: nil)
            return
        }
        checkSilence(at: (readsSuspended ? now : lastHeard) + keepalive.timeout, context: context)
    }

    private func ping(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(frame(.ping, data: context.channel.allocator.buffer(capacity: 0))), promise: nil)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastHeard = .now()
        inputDuringRead.append(unwrapInboundIn(data))
        guard !reading else { return }
        reading = true
        defer { reading = false }
        while let input = inputDuringRead.popFirst() {
            var failure: (any LinkFrameFailure)?
            // Messages go up as they are parsed, in order; a read that this
            // causes only queues its input (above), so the parser is never
            // entered twice.
            do {
                let allocator = context.channel.allocator
                try webSocketParser?.parse(input, allocator: allocator) { received($0, $1, context: context) }
                try streamParser?.parse(input, allocator: allocator) { received($0, $1, context: context) }
            } catch let error as any LinkFrameFailure {
                failure = error
            } catch {
                preconditionFailure("the frame parsers throw only LinkFrameFailure")
            }
            if let failure {
                inputDuringRead.removeAll()
                sendClose(context: context, code: failure.closeCode, reason: "\(failure)", then: true)
                context.fireErrorCaught(failure)
                return
            }
        }
    }

    private func received(_ opcode: WebSocketOpcode, _ payload: ByteBuffer, context: ChannelHandlerContext) {
        // Nothing after a close frame is part of the conversation (RFC 6455 5.5.1).
        guard !closeReceived else { return }
        switch opcode {
        case .binary:
            context.fireChannelRead(wrapInboundOut(payload))
        case .ping:
            guard !pongInFlight else { return }
            pongInFlight = true
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.assumeIsolated().whenComplete { _ in self.pongInFlight = false }
            context.writeAndFlush(wrapOutboundOut(frame(.pong, data: payload)), promise: written)
        case .pong:
            break
        case .connectionClose:
            closeReceived = true
            var payload = payload
            let code = payload.readInteger(as: UInt16.self)
            let reason = payload.readString(length: payload.readableBytes) ?? ""
            context.fireErrorCaught(TransportError.closedByPeer(code: code, reason: reason))
            sendClose(context: context, code: .normalClosure, reason: "", then: true)
        case .text:
            context.fireErrorCaught(TransportError.textFrame)
            sendClose(context: context, code: .unacceptableData, reason: "binary frames only", then: true)
        default:
            break
        }
    }

    /// Messages from above; none may follow our close frame (RFC 6455 5.5.1).
    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !closeSent else {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        context.write(data, promise: promise)
    }

    /// Starts the close handshake with a reason the peer can show its user.
    public func sendClose(context: ChannelHandlerContext, code: WebSocketErrorCode, reason: String, then close: Bool) {
        guard !closeSent else {
            if close { context.close(promise: nil) }
            return
        }
        closeSent = true
        var payload = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        payload.write(webSocketErrorCode: code)
        payload.writeString(String(decoding: reason.utf8.prefix(120), as: UTF8.self))
        let written = context.writeAndFlush(wrapOutboundOut(frame(.connectionClose, data: payload)))
        if close {
            // Give the peer a moment to read the reason; never wait on it
            // forever (a peer that does not read would keep the channel).
            let channel = context.channel
            written.whenComplete { _ in channel.close(promise: nil) }
            context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
        }
    }

    private func frame(_ opcode: WebSocketOpcode, data: ByteBuffer) -> ByteBuffer {
        var message = data
        framer.frame(&message, opcode: opcode)
        return message
    }
}

/// Sent down the pipeline by an owner that pauses and resumes reading for
/// backpressure, so the keepalive does not mistake the pause for a dead peer.
public struct ReadSuspension: Sendable {
    public var suspended: Bool
    public init(suspended: Bool) { self.suspended = suspended }
}

/// A close request that any handler can send down the pipeline to end the link
/// with a close reason instead of a bare TCP close.
public struct CloseWithReason: Sendable {
    public var code: WebSocketErrorCode
    public var reason: String

    public init(code: WebSocketErrorCode = .normalClosure, reason: String) {
        self.code = code
        self.reason = reason
    }
}

extension LinkMessageHandler {
    public func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        if let close = event as? CloseWithReason {
            sendClose(context: context, code: close.code, reason: close.reason, then: true)
            promise?.succeed(())
        } else if let suspension = event as? ReadSuspension {
            readsSuspended = suspension.suspended
            if !suspension.suspended { lastHeard = .now() }
            promise?.succeed(())
        } else {
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }
}

/// A frame that breaks the link's framing; the link is closed with its code.
public protocol LinkFrameFailure: Error, CustomStringConvertible {
    var closeCode: WebSocketErrorCode { get }
}

extension WebSocketFrameError: LinkFrameFailure {}
extension StreamFrameError: LinkFrameFailure {}
