import NIOCore
import NIOWebSocket
@testable import P22PTransport
import XCTest

final class MaskingTests: XCTestCase {
    /// The fast path agrees with NIO's byte-by-byte masking for every length
    /// around the 8-byte steps, and leaves the input alone.
    func testUnmaskingMatchesNIO() {
        let key = WebSocketMaskingKey([0x12, 0xA5, 0x00, 0xFF])!
        for count in [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 1000, 65_536 + 5] {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            var expected = ByteBuffer(bytes: bytes)
            expected.webSocketUnmask(key)
            let input = ByteBuffer(bytes: bytes)
            XCTAssertEqual(Masking.unmasked(input, key: key, allocator: ByteBufferAllocator()), expected, "length \(count)")
            XCTAssertEqual(input, ByteBuffer(bytes: bytes))
        }
    }
}
