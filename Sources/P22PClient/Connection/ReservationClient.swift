import Foundation
import NIOCore
import P22PCrypto
import P22PTransport
import P22PWire

/// Asks a relay for a reservation of a `#` group name, or to extend one: a
/// short connection of its own, no group joined.
public enum ReservationClient {
    /// Reserves `group` for `creator` (a new key unless given): the result
    /// holds the creator key's private half, for the key file only.
    public static func reserve(group: String, creatorOnly: Bool, creator: MemberIdentity = MemberIdentity(), server: ServerURL,
                               tls: TLSOptions, on eventLoop: EventLoop) -> EventLoopFuture<Reservation> {
        request(.reserve(group: group, creatorOnly: creatorOnly, creatorKey: creator.publicKey), group: group,
                server: server, tls: tls, on: eventLoop)
            .flatMapThrowing { reservation in try keep(creator, in: reservation) }
    }

    /// Only the public part travels; the renewed reservation keeps the key.
    public static func extend(_ reservation: Reservation, server: ServerURL, tls: TLSOptions,
                              on eventLoop: EventLoop) -> EventLoopFuture<Reservation> {
        request(.extend(key: reservation.publicPart.encoded()), group: reservation.group, server: server, tls: tls, on: eventLoop)
            .flatMapThrowing { renewed in
                guard let creator = reservation.creatorIdentity else { return renewed }
                return try keep(creator, in: renewed)
            }
    }

    private static func keep(_ creator: MemberIdentity, in reservation: Reservation) throws -> Reservation {
        guard reservation.creatorKey == creator.publicKey else {
            throw MemberError.protocolViolation("the relay signed the reservation for another creator key")
        }
        var kept = reservation
        kept.identity = creator.seedText
        return kept
    }

    private static func request(_ message: ControlMessage, group: String, server: ServerURL, tls: TLSOptions,
                                on eventLoop: EventLoop) -> EventLoopFuture<Reservation> {
        let answer = eventLoop.makePromise(of: Reservation.self)
        let proxy: ProxyURL?
        do {
            proxy = try ProxySetting.fromEnvironment.proxy(for: server, environment: ProcessInfo.processInfo.environment)
        } catch {
            return eventLoop.makeFailedFuture(MemberError.invalidConfiguration(error.description))
        }
        return RelayDialer.connect(
            to: server, group: group, tls: tls, keepalive: .standard, maxFrameSize: Limits.defaultMaxFrameSize, on: eventLoop, proxy: proxy,
            makeHandler: { ReservationHandler(request: message, framer: server.framer, answer: answer) }
        ).flatMap { channel in
            channel.closeFuture.whenComplete { _ in
                answer.fail(MemberError.disconnected(reason: "the relay closed the connection without an answer"))
            }
            return answer.futureResult.always { _ in channel.close(promise: nil) }
        }.flatMapErrorThrowing { error in
            answer.fail(error)
            throw error
        }
    }
}

private final class ReservationHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let request: ControlMessage
    private let framer: LinkFramer
    private let answer: EventLoopPromise<Reservation>

    init(request: ControlMessage, framer: LinkFramer, answer: EventLoopPromise<Reservation>) {
        self.request = request
        self.framer = framer
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch try? Frame.decode(unwrapInboundIn(data)) {
        case .control(.hello(let version, _, _, _)):
            guard version == ProtocolVersion.current else {
                answer.fail(MemberError.refused(.versionMismatch, message: "the relay speaks protocol version \(version)"))
                return
            }
            let framed = framer.message(allocator: context.channel.allocator, capacity: 256) {
                Frame.control(request).encode(into: &$0)
            }
            context.writeAndFlush(NIOAny(framed), promise: nil)
        case .control(.reservation(let key)):
            if let reservation = Reservation.decode(key) {
                answer.succeed(reservation)
            } else {
                answer.fail(MemberError.protocolViolation("the relay sent a reservation that is not valid JSON"))
            }
        case .control(.refused(let code, let message)):
            answer.fail(MemberError.refused(code, message: message))
        default:
            answer.fail(MemberError.protocolViolation("unexpected answer to a reservation request"))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if case TransportError.closedByPeer = error { return }
        answer.fail(error)
    }
}
