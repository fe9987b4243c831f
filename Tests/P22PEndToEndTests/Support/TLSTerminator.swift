import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// A TLS-terminating proxy like the nginx or HAProxy in front of a relay:
/// accepts TLS on a loopback port and pipes the plaintext to `backendPort`.
final class TLSTerminator: @unchecked Sendable {  // all `let`: a channel and its loop group
    let channel: Channel
    var port: Int { channel.localAddress!.port! }

    init(certificate: String, key: String, backendPort: Int, group: EventLoopGroup) throws {
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        let context = try NIOSSLContext(configuration: configuration)
        channel = try ServerBootstrap(group: group)
            .childChannelInitializer { inbound in
                inbound.eventLoop.makeCompletedFuture {
                    try inbound.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                }.flatMap {
                    ClientBootstrap(group: inbound.eventLoop)
                        .connect(host: "127.0.0.1", port: backendPort)
                }.flatMapThrowing { outbound in
                    let (a, b) = Pipe.pair()
                    try inbound.pipeline.syncOperations.addHandler(a)
                    try outbound.pipeline.syncOperations.addHandler(b)
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
    }

    func stop() { try? channel.close().wait() }

    /// Copies bytes to its partner. Test traffic is small, so no backpressure.
    final class Pipe: ChannelDuplexHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private var partner: Pipe?
        private var context: ChannelHandlerContext?

        static func pair() -> (Pipe, Pipe) {
            let a = Pipe()
            let b = Pipe()
            a.partner = b
            b.partner = a
            return (a, b)
        }

        func handlerAdded(context: ChannelHandlerContext) { self.context = context }

        func handlerRemoved(context: ChannelHandlerContext) {
            self.context = nil
            partner = nil
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            partner?.context?.write(wrapOutboundOut(unwrapInboundIn(data)), promise: nil)
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            partner?.context?.flush()
        }

        func channelInactive(context: ChannelHandlerContext) {
            partner?.context?.close(promise: nil)
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            context.close(promise: nil)
        }
    }
}

/// A throwaway certificate authority and a server certificate for 127.0.0.1,
/// made with the openssl command at test time. `serverDays: -1` makes a
/// server certificate that expired a day ago.
struct TestCertificates {
    let directory: URL
    var caFile: String { directory.appendingPathComponent("ca.pem").path }
    var certificateFile: String { directory.appendingPathComponent("server.pem").path }
    var keyFile: String { directory.appendingPathComponent("server.key").path }

    init(serverDays: Int = 2) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("p22p-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=p22p test CA"])
        try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"])
        try "subjectAltName=IP:127.0.0.1\n".write(to: directory.appendingPathComponent("ext.cnf"), atomically: true, encoding: .utf8)
        try openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                     "-out", "server.pem", "-days", "\(serverDays)", "-extfile", "ext.cnf"])
    }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = directory
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw SocketError("openssl \(arguments.first ?? "") failed") }
    }
}
