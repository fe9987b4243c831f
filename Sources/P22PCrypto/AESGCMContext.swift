@preconcurrency import Crypto
import CCryptoBoringSSL

/// AES-256-GCM with its key schedule set up once per key, sealing and opening
/// straight between the caller's buffers.
///
/// Why not `AES.GCM.seal`/`open`: they build a BoringSSL AEAD context on
/// every call and hand results back as `Data`, which is copied once more into
/// a sealed box and once more into our frame. Measured through one forward
/// with 64-byte round trips, that was 23% of each member's CPU (about 5 µs per
/// frame), and two extra copies of every byte in bulk. On Linux this is the
/// BoringSSL that swift-crypto itself uses (its C module, which is not one of
/// its products: Package.swift pins swift-crypto to a minor version for that
/// reason), called the way its own wrapper calls it, minus the per-call
/// setup. The known-answer tests pin the output to independently computed
/// vectors (docs/vectors.py).
final class AESGCMContext: @unchecked Sendable {  // BoringSSL allows concurrent seal/open on one EVP_AEAD_CTX
    static let tagSize = 16
    static let nonceSize = 12
    private let context: UnsafeMutablePointer<EVP_AEAD_CTX>

    init(key: SymmetricKey) {
        precondition(key.bitCount == 256, "AES-256-GCM needs a 256-bit key")
        let made = key.withUnsafeBytes { bytes in
            CCryptoBoringSSL_EVP_AEAD_CTX_new(CCryptoBoringSSL_EVP_aead_aes_256_gcm(), bytes.baseAddress, bytes.count, Self.tagSize)
        }
        // Only allocation can fail here, with a valid key and tag size.
        guard let made else { fatalError("BoringSSL could not set up an AES-256-GCM context (out of memory)") }
        context = made
    }

    deinit { CCryptoBoringSSL_EVP_AEAD_CTX_free(context) }

    /// Encrypts `plaintext` into the first `plaintext.count` bytes of `output`
    /// and writes the tag after them; `output` may start at `plaintext`.
    func seal(nonce: UnsafeRawBufferPointer, plaintext: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer,
              into output: UnsafeMutableRawBufferPointer) {
        precondition(output.count >= plaintext.count + Self.tagSize && nonce.count == Self.nonceSize)
        let out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var tagLength = 0
        let sealed = CCryptoBoringSSL_EVP_AEAD_CTX_seal_scatter(
            context, out, out + plaintext.count, &tagLength, Self.tagSize,
            nonce.baseAddress!.assumingMemoryBound(to: UInt8.self), nonce.count,
            plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), plaintext.count,
            nil, 0,
            associatedData.baseAddress?.assumingMemoryBound(to: UInt8.self), associatedData.count)
        // Sealing with a valid context and sizes in range cannot fail.
        precondition(sealed == 1 && tagLength == Self.tagSize, "AES-256-GCM seal failed")
    }

    /// Checks the tag at the end of `sealed` and decrypts the rest into
    /// `output` (at least `sealed.count - tagSize` bytes). False if the frame
    /// was not sealed with this key, nonce and associated data.
    func open(nonce: UnsafeRawBufferPointer, sealed: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer,
              into output: UnsafeMutableRawBufferPointer) -> Bool {
        guard sealed.count >= Self.tagSize, nonce.count == Self.nonceSize else { return false }
        let length = sealed.count - Self.tagSize
        precondition(output.count >= length)
        let input = sealed.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let opened = CCryptoBoringSSL_EVP_AEAD_CTX_open_gather(
            context, output.baseAddress?.assumingMemoryBound(to: UInt8.self),
            nonce.baseAddress!.assumingMemoryBound(to: UInt8.self), nonce.count,
            input, length, input + length, Self.tagSize,
            associatedData.baseAddress?.assumingMemoryBound(to: UInt8.self), associatedData.count) == 1
        // A refused frame leaves an error on this thread's queue, which a
        // later swift-crypto call on the same event loop could report.
        if !opened { CCryptoBoringSSL_ERR_clear_error() }
        return opened
    }
}
