import Foundation
import P22PCrypto
import P22PWire
import Synchronization

/// A group's password and the keys derived from it, per salt. The relay
/// hands out the salt only when a member connects, and deriving costs about
/// a second of memory-hard work, so derivations are kept: a member that
/// reconnects to the same group derives nothing again.
public final class GroupKeyring: Sendable {
    public let group: String
    private let password: String
    /// The salt this member creates the group with: one per keyring, so a
    /// creator that re-creates its group after a relay restart reuses its keys.
    public let createSalt: [UInt8]
    private let derived = Mutex<[KeyDerivation: GroupSecrets]>([:])

    public init(password: String, group: String) {
        self.group = group
        self.password = password
        self.createSalt = GroupSecrets.newSalt()
    }

    public func cachedSecrets(for derivation: KeyDerivation) -> GroupSecrets? {
        derived.withLock { $0[derivation] }
    }

    /// Derives (or recalls) the keys for `derivation`. Blocks for the
    /// derivation: call it off the event loops.
    public func secrets(for derivation: KeyDerivation) throws -> GroupSecrets {
        if let cached = cachedSecrets(for: derivation) { return cached }
        let secrets = try GroupSecrets(password: password, group: group, derivation: derivation)
        derived.withLock { table in
            // A group is re-created with a new salt at most now and then; the
            // last few derivations are all that is worth keeping.
            if table.count >= 4 { table.removeAll() }
            table[derivation] = secrets
        }
        return secrets
    }
}
