import NIOCore
import NIOWebSocket
@testable import P22PTransport
import XCTest

final class MaskingTests: XCTestCase {
    /// The fast path agrees with NIO's byte-by-byte masking for every length
    /// around the 8-byte steps and every starting offset in the key.
    func testMaskingMatchesNIOAtEveryOffset() {
        let nioKey = WebSocketMaskingKey([0x12, 0xA5, 0x00, 0xFF])!
        let key = [UInt8]([0x12, 0xA5, 0x00, 0xFF]).withUnsafeBytes { MaskKey(wire: $0) }
        for count in [0, 1, 3, 4, 7, 8, 9, 15, 16, 17, 1000, 65_536 + 5] {
            let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
            var expected = ByteBuffer(bytes: bytes)
            expected.webSocketUnmask(nioKey)
            for split in Set([0, 1, 2, 3, 5, count / 2, count].filter { $0 <= count }) {
                var output = [UInt8](repeating: 0, count: count)
                output.withUnsafeMutableBytes { destination in
                    bytes.withUnsafeBytes { source in
                        Masking.apply(key, offset: 0, from: UnsafeRawBufferPointer(rebasing: source[..<split]),
                                      to: UnsafeMutableRawBufferPointer(rebasing: destination[..<split]))
                        Masking.apply(key, offset: split, from: UnsafeRawBufferPointer(rebasing: source[split...]),
                                      to: UnsafeMutableRawBufferPointer(rebasing: destination[split...]))
                    }
                }
                XCTAssertEqual(output, Array(expected.readableBytesView), "length \(count), split at \(split)")
            }
        }
    }
}
