@preconcurrency import Crypto
import Foundation
import NIOCore
import P22PWire

/// Seals stream messages for one direction of a member pair with AES-256-GCM.
///
/// The nonce is the session's frame counter, which also travels in the clear
/// header; it never repeats under one key because every session has fresh
/// keys. The associated data is that header plus the message's index within
/// its stream, which is *not* sent: both ends count it. So a frame the relay
/// drops, or moves to another stream by editing the header, makes the next
/// frame of the affected stream fail to open, and the stream is reset instead
/// of silently missing bytes.
public struct FrameSealer: Sendable {
    var key: SymmetricKey
    public private(set) var counter: UInt64 = 0
    /// Plaintext bytes sealed under the current key.
    public private(set) var sealedBytes = 0
    /// How many times this direction's key has been replaced.
    public private(set) var epoch = 0

    public init(key: SymmetricKey) { self.key = key }

    /// Moves to the next key of this direction, one-way: the old key cannot
    /// be recomputed from the new one, so a key taken from memory later
    /// opens nothing sent before the last rekey. Called right after sealing
    /// a `rekey` message; the counter starts again under the new key.
    public mutating func rekey() {
        key = Self.nextKey(after: key)
        counter = 0
        sealedBytes = 0
        epoch += 1
    }

    static func nextKey(after key: SymmetricKey) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Array("p22p-rekey-v1".utf8), outputByteCount: 32)
    }

    public static let tagSize = 16

    /// Appends a complete peer frame (header, ciphertext, tag) to `buffer`.
    /// `index` is how many messages this side has sent on `stream` before.
    public mutating func seal(_ message: StreamMessage, stream: UInt32, index: UInt64, into buffer: inout ByteBuffer) {
        let header = SealedHeader(kind: message.kind, stream: stream, counter: counter)
        counter += 1
        header.encode(into: &buffer)
        let aad = Self.associatedData(header, index: index)
        let box: AES.GCM.SealedBox
        if case .data(let bytes) = message {
            sealedBytes += bytes.readableBytes
            box = Self.seal(bytes, key: key, header: header, aad: aad)
        } else {
            var body = ByteBuffer()
            message.encodeBody(into: &body)
            box = Self.seal(body, key: key, header: header, aad: aad)
        }
        buffer.writeBytes(box.ciphertext)
        buffer.writeBytes(box.tag)
    }

    private static func seal(_ plaintext: ByteBuffer, key: SymmetricKey, header: SealedHeader, aad: [UInt8]) -> AES.GCM.SealedBox {
        plaintext.withUnsafeReadableBytes { plain in
            // AES-GCM with a unique nonce and in-range sizes cannot fail.
            try! AES.GCM.seal(plain, using: key, nonce: nonce(header.counter), authenticating: aad)
        }
    }

    /// The clear header and the implicit index, big-endian, built in one
    /// small array (this runs for every frame in both directions).
    static func associatedData(_ header: SealedHeader, index: UInt64) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(SealedHeader.encodedSize + 8)
        bytes.append(0x03)
        bytes.append(header.kind.rawValue)
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: header.stream >> UInt32(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: header.counter >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: index >> UInt64(shift))) }
        return bytes
    }

    static func nonce(_ counter: UInt64) -> AES.GCM.Nonce {
        var bytes = [UInt8](repeating: 0, count: 12)
        for index in 0..<8 { bytes[4 + index] = UInt8(truncatingIfNeeded: counter >> (56 - 8 * UInt64(index))) }
        return try! AES.GCM.Nonce(data: bytes)
    }
}

/// Opens frames from one peer. A frame whose counter is not above the last
/// accepted one is a replay or a reordering and is refused unopened; a frame
/// that fails authentication does not advance the counter, so one tampered
/// frame does not poison the frames after it.
public struct FrameOpener: Sendable {
    var key: SymmetricKey
    public private(set) var lastCounter: UInt64?

    public init(key: SymmetricKey) { self.key = key }

    /// Follows the peer's `rekey`: the next frame is the first under the next key.
    public mutating func rekey() {
        key = FrameSealer.nextKey(after: key)
        lastCounter = nil
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case replayed(counter: UInt64)
        case authenticationFailed
        case malformed(WireError)

        public var description: String {
            switch self {
            case .replayed(let counter): "replayed or reordered frame (counter \(counter))"
            case .authenticationFailed: "frame failed authentication (tampered, lost or wrong key)"
            case .malformed(let error): "malformed sealed message: \(error)"
            }
        }
    }

    /// `index` is how many messages this side has accepted on the stream before.
    public mutating func open(_ header: SealedHeader, body: ByteBuffer, index: UInt64) throws(Failure) -> StreamMessage {
        if let lastCounter, header.counter <= lastCounter { throw .replayed(counter: header.counter) }
        guard body.readableBytes >= FrameSealer.tagSize else { throw .authenticationFailed }
        let aad = FrameSealer.associatedData(header, index: index)
        let plaintext: Data
        do {
            let ciphertextLength = body.readableBytes - FrameSealer.tagSize
            plaintext = try body.withUnsafeReadableBytes { raw in
                let box = try AES.GCM.SealedBox(
                    nonce: FrameSealer.nonce(header.counter),
                    ciphertext: UnsafeRawBufferPointer(rebasing: raw[0..<ciphertextLength]),
                    tag: UnsafeRawBufferPointer(rebasing: raw[ciphertextLength...]))
                return try AES.GCM.open(box, using: key, authenticating: aad)
            }
        } catch {
            // BoringSSL's failure is a wrapped error, not .authenticationFailure; any failure here means the same.
            throw .authenticationFailed
        }
        lastCounter = header.counter
        do {
            return try StreamMessage.decode(kind: header.kind, body: ByteBuffer(bytes: plaintext))
        } catch {
            throw .malformed(error)
        }
    }
}
