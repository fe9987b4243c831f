import Logging
import NIOCore

/// Where one connection comes from, as the per-address limits and the logs
/// see it. It starts as the TCP peer. If that is a trusted proxy, a PROXY
/// header at the start of the connection, then the X-Forwarded-For of the
/// upgrade request, may name the client behind it.
///
/// The address is *settled*, counted against the open-connection limit, as
/// soon as it is not a trusted proxy's: at accept for a client that connects
/// directly, after the PROXY header for one behind a proxy that sends it, at
/// the upgrade otherwise. A connection refused there is closed before the
/// relay does any more work for it (TLS, HTTP).
final class ConnectionOrigin {  // used only on its channel's event loop
    private let limits: AddressLimits
    private let channel: Channel
    private let metrics: RelayMetrics
    /// The connection's logger, with `client` set once a proxy named one.
    private(set) var logger: Logger
    private(set) var address: IPAddress?
    private var settled = false

    init(channel: Channel, limits: AddressLimits, metrics: RelayMetrics, logger: Logger) {
        self.channel = channel
        self.limits = limits
        self.metrics = metrics
        self.logger = logger
        address = channel.remoteAddress?.ipAddress.flatMap { IPAddress($0) }
    }

    /// What limits and refusals call the client: `203.0.113.7`.
    var clientAddress: String { address?.description ?? "?" }

    /// The TCP peer (or the address a PROXY header named) is a trusted proxy.
    var fromTrustedProxy: Bool { address.map(limits.trustedProxies.trusts) ?? false }

    /// At accept. False if the connection is over its address's limit and
    /// must be closed.
    func accepted() -> Bool {
        fromTrustedProxy || settle()
    }

    /// A trusted proxy's PROXY header arrived. False: close the connection.
    func proxied(_ header: ProxyProtocolHeader) -> Bool {
        if let source = header.source { name(source) }
        return fromTrustedProxy || settle()
    }

    /// The upgrade request arrived. False: close the connection.
    func upgrading(forwardedFor values: [String]) -> Bool {
        guard !settled else { return true }
        if let address, !values.isEmpty {
            let client = limits.trustedProxies.client(peer: address, forwardedFor: values)
            if client != address { name(client) }
        }
        return settle()
    }

    private func name(_ client: IPAddress) {
        address = client
        logger[metadataKey: "client"] = "\(client)"
    }

    private func settle() -> Bool {
        settled = true
        let key = clientAddress
        switch limits.openConnection(from: key) {
        case .opened:
            let limits = self.limits
            channel.closeFuture.whenComplete { _ in limits.closeConnection(from: key) }
            return true
        case .refused(let log, let unlogged):
            metrics.refused("tooManyConnections")
            if log {
                let more = unlogged > 1 ? "; \(unlogged) connections from it refused since the last such line" : ""
                logger.notice("refusing connection", metadata: [
                    "reason": "\(key) already has \(limits.maxConnections) connections open, the most this relay allows per address (raise it with --max-connections-per-address)\(more)",
                ])
            }
            return false
        }
    }
}
