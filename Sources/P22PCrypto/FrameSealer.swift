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
    var key: SymmetricKey {
        didSet { context = AESGCMContext(key: key) }
    }
    private var context: AESGCMContext
    public private(set) var counter: UInt64 = 0
    /// Plaintext bytes sealed under the current key.
    public private(set) var sealedBytes = 0
    /// How many times this direction's key has been replaced.
    public private(set) var epoch = 0

    public init(key: SymmetricKey) {
        self.key = key
        self.context = AESGCMContext(key: key)
    }

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

    public static let tagSize = AESGCMContext.tagSize

    /// Appends a complete peer frame (header, ciphertext, tag) to `buffer`.
    /// `index` is how many messages this side has sent on `stream` before.
    /// Data is encrypted straight from the read buffer into the frame; any
    /// other message is encoded into the frame and encrypted where it lies.
    public mutating func seal(_ message: StreamMessage, stream: UInt32, index: UInt64, into buffer: inout ByteBuffer) {
        let header = SealedHeader(kind: message.kind, stream: stream, counter: counter)
        counter += 1
        header.encode(into: &buffer)
        let context = self.context
        Self.withNonceAndAssociatedData(header, index: index) { nonce, aad in
            let payload: ByteBuffer? = switch message {
            case .data(let bytes), .datagram(let bytes): bytes
            default: nil
            }
            if let bytes = payload {
                sealedBytes += bytes.readableBytes
                let count = bytes.readableBytes
                bytes.withUnsafeReadableBytes { plaintext in
                    _ = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count + Self.tagSize) { output in
                        context.seal(nonce: nonce, plaintext: plaintext, associatedData: aad, into: output)
                        return count + Self.tagSize
                    }
                }
            } else {
                let start = buffer.writerIndex - buffer.readerIndex
                message.encodeBody(into: &buffer)
                buffer.writeRepeatingByte(0, count: Self.tagSize)
                buffer.withUnsafeMutableReadableBytes { bytes in
                    let region = UnsafeMutableRawBufferPointer(rebasing: bytes[start...])
                    let plaintext = UnsafeRawBufferPointer(rebasing: region[..<(region.count - Self.tagSize)])
                    context.seal(nonce: nonce, plaintext: plaintext, associatedData: aad, into: region)
                }
            }
        }
    }

    /// The nonce (the frame counter, big-endian, after four zero bytes) and
    /// the associated data (the clear header and the implicit index), built
    /// on the stack: this runs for every frame in both directions.
    static func withNonceAndAssociatedData<Result>(
        _ header: SealedHeader, index: UInt64, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Result
    ) -> Result {
        withUnsafeTemporaryAllocation(byteCount: AESGCMContext.nonceSize + associatedDataSize, alignment: 8) { scratch in
            let nonce = UnsafeMutableRawBufferPointer(rebasing: scratch[..<AESGCMContext.nonceSize])
            let aad = UnsafeMutableRawBufferPointer(rebasing: scratch[AESGCMContext.nonceSize...])
            nonce.storeBytes(of: 0, toByteOffset: 0, as: UInt32.self)
            nonce.storeBytes(of: header.counter.bigEndian, toByteOffset: 4, as: UInt64.self)
            aad[0] = 0x03
            aad[1] = header.kind.rawValue
            aad.storeBytes(of: header.stream.bigEndian, toByteOffset: 2, as: UInt32.self)
            aad.storeBytes(of: header.counter.bigEndian, toByteOffset: 6, as: UInt64.self)
            aad.storeBytes(of: index.bigEndian, toByteOffset: 14, as: UInt64.self)
            return body(UnsafeRawBufferPointer(nonce), UnsafeRawBufferPointer(aad))
        }
    }

    static let associatedDataSize = SealedHeader.encodedSize + 8

    /// The associated data as an array, for tests and vectors.
    static func associatedData(_ header: SealedHeader, index: UInt64) -> [UInt8] {
        withNonceAndAssociatedData(header, index: index) { _, aad in Array(aad) }
    }
}

/// Opens frames from one peer. A frame whose counter is not above the last
/// accepted one is a replay or a reordering and is refused unopened; a frame
/// that fails authentication does not advance the counter, so one tampered
/// frame does not poison the frames after it.
public struct FrameOpener: Sendable {
    var key: SymmetricKey {
        didSet { context = AESGCMContext(key: key) }
    }
    private var context: AESGCMContext
    public private(set) var lastCounter: UInt64?

    public init(key: SymmetricKey) {
        self.key = key
        self.context = AESGCMContext(key: key)
    }

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
        let length = body.readableBytes - FrameSealer.tagSize
        var plaintext = ByteBufferAllocator().buffer(capacity: length)
        let context = self.context
        var authentic = false
        FrameSealer.withNonceAndAssociatedData(header, index: index) { nonce, aad in
            body.withUnsafeReadableBytes { sealed in
                _ = plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { output in
                    authentic = context.open(nonce: nonce, sealed: sealed, associatedData: aad, into: output)
                    return authentic ? length : 0
                }
            }
        }
        guard authentic else { throw .authenticationFailed }
        lastCounter = header.counter
        do {
            return try StreamMessage.decode(kind: header.kind, body: plaintext)
        } catch {
            throw .malformed(error)
        }
    }
}
