@preconcurrency import Crypto
import Foundation
import NIOCore
import P22PWire

/// Seals stream messages for one direction of a member pair with AES-256-GCM.
/// The nonce is the frame counter, which also travels in the header; it never
/// repeats under one key because every session has fresh keys.
public struct FrameSealer: Sendable {
    let key: SymmetricKey
    public private(set) var counter: UInt64 = 0

    public init(key: SymmetricKey) { self.key = key }

    public static let tagSize = 16

    /// Appends a complete peer frame (header, ciphertext, tag) to `buffer`.
    public mutating func seal(_ message: StreamMessage, stream: UInt32, into buffer: inout ByteBuffer) {
        var body = ByteBuffer()
        if case .data(let bytes) = message {
            body = bytes
        } else {
            message.encodeBody(into: &body)
        }
        seal(kind: message.kind, stream: stream, plaintext: body, into: &buffer)
    }

    public mutating func seal(kind: StreamMessageKind, stream: UInt32, plaintext: ByteBuffer, into buffer: inout ByteBuffer) {
        let header = SealedHeader(kind: kind, stream: stream, counter: counter)
        counter += 1
        let headerStart = buffer.writerIndex
        header.encode(into: &buffer)
        let aad = buffer.getBytes(at: headerStart, length: SealedHeader.encodedSize)!
        let box = plaintext.withUnsafeReadableBytes { plain in
            // AES-GCM with a unique nonce cannot fail for in-range sizes.
            try! AES.GCM.seal(plain, using: key, nonce: Self.nonce(header.counter), authenticating: aad)
        }
        buffer.writeBytes(box.ciphertext)
        buffer.writeBytes(box.tag)
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
    let key: SymmetricKey
    public private(set) var lastCounter: UInt64?

    public init(key: SymmetricKey) { self.key = key }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case replayed(counter: UInt64)
        case authenticationFailed
        case malformed(WireError)

        public var description: String {
            switch self {
            case .replayed(let counter): "replayed or reordered frame (counter \(counter))"
            case .authenticationFailed: "frame failed authentication (tampered or wrong key)"
            case .malformed(let error): "malformed sealed message: \(error)"
            }
        }
    }

    public mutating func open(_ header: SealedHeader, body: ByteBuffer) throws(Failure) -> StreamMessage {
        if let lastCounter, header.counter <= lastCounter { throw .replayed(counter: header.counter) }
        guard body.readableBytes >= FrameSealer.tagSize else { throw .authenticationFailed }
        var aadBuffer = ByteBuffer()
        header.encode(into: &aadBuffer)
        let aad = aadBuffer.readableBytesView.map { $0 }
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
