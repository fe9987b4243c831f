import NIOConcurrencyHelpers
import P22PCrypto
import P22PWire

/// All groups on this relay by name. A group is created by its first member
/// and removed with its last; lock order is registry, then group.
final class GroupRegistry: @unchecked Sendable {  // every mutable field is read and written under `lock`
    private let lock = NIOLock()
    private var groups: [String: RelayGroup] = [:]
    /// The same groups by the routing key of their URL path, for the hello.
    private var byRoutingKey: [String: RelayGroup] = [:]

    enum CreateError: Error { case exists, tooMany }

    func create(_ name: String, verifier: AuthVerifier, derivation: KeyDerivation, creatorOnly: Bool = false,
                maxGroups: Int) throws(CreateError) -> RelayGroup {
        lock.lock()
        defer { lock.unlock() }
        guard groups[name] == nil else { throw .exists }
        guard groups.count < maxGroups else { throw .tooMany }
        let group = RelayGroup(name: name, verifier: verifier, derivation: derivation, creatorOnly: creatorOnly)
        groups[name] = group
        byRoutingKey[RoutingKey.key(forGroup: name)] = group
        return group
    }

    func group(named name: String) -> RelayGroup? {
        lock.withLock { groups[name] }
    }

    func group(routingKey: String) -> RelayGroup? {
        lock.withLock { byRoutingKey[routingKey] }
    }

    /// Removes `group` once it has no members, unless someone joined meanwhile.
    func removeIfEmpty(_ group: RelayGroup) {
        lock.withLock {
            if groups[group.name] === group, group.retireIfEmpty() {
                groups.removeValue(forKey: group.name)
                byRoutingKey.removeValue(forKey: RoutingKey.key(forGroup: group.name))
            }
        }
    }

    var count: Int { lock.withLock { groups.count } }

    var memberCount: Int {
        let all = lock.withLock { Array(groups.values) }
        return all.reduce(0) { $0 + $1.count }
    }
}
