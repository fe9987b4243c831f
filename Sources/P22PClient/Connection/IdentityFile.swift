import Foundation
import P22PCrypto

/// A member's static key on disk (`--identity FILE`, `identity_file:`). A
/// missing file is created, 0600 from its first byte, so pinning a member
/// needs no separate key-generation step.
public enum IdentityFile {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// What `load` found: the identity, and whether it had to create the file.
    public struct Loaded: Sendable {
        public let identity: MemberIdentity
        public let created: Bool
        /// The file is readable by its group or others.
        public let exposed: Bool
    }

    public static func load(_ path: String) throws(Failure) -> Loaded {
        let resolved = LocalPath.resolve(path)
        guard FileManager.default.fileExists(atPath: resolved) else {
            let identity = MemberIdentity()
            do {
                try SecretFile.write(Array(identity.fileText().utf8), to: resolved)
            } catch {
                throw Failure(description: "\(error.description) (creating the identity file \(path))")
            }
            return Loaded(identity: identity, created: true, exposed: false)
        }
        guard let data = FileManager.default.contents(atPath: resolved) else {
            throw Failure(description: "cannot read the identity file \(path)")
        }
        guard let text = String(data: data, encoding: .utf8), let identity = MemberIdentity.parse(fileText: text) else {
            throw Failure(description: "\(path) is not a p22p identity file (one starts with the line \(MemberIdentity.fileHeader); move it away to have a new one made)")
        }
        return Loaded(identity: identity, created: false, exposed: SecretFile.isReadableByOthers(resolved))
    }

    /// The sentence to log about a loaded identity, or nil if there is nothing to say.
    public static func notice(for loaded: Loaded, path: String) -> String? {
        if loaded.created { return "created the identity file \(path); its public key (for peer_key) is \(loaded.identity.publicKeyText)" }
        if loaded.exposed { return "the identity file \(path) is readable by other users; run chmod 600 \(path)" }
        return nil
    }
}
