import Foundation
import NIOCore
import NIOTestUtils
import SwiftProtobuf
import SwitchboardWire
import Testing

@Suite struct FrameCodecTests {
  func framed(_ frame: Switchboard_V1_Frame) throws -> ByteBuffer {
    try frame.framed(allocator: ByteBufferAllocator())
  }

  func sampleFrame(_ id: UInt64, _ text: String) -> Switchboard_V1_Frame {
    var r = Switchboard_V1_CompletionRequest()
    r.route = "r"
    var m = Switchboard_V1_Message(); m.role = .user; m.content = text
    r.messages = [m]
    var f = Switchboard_V1_Frame(); f.callID = id; f.body = .completionRequest(r)
    return f
  }

  @Test func splitAndMergedFramesDecodeIdentically() throws {
    // The verifier feeds the input byte by byte, all at once, and in between.
    let frames = [sampleFrame(1, "hello"), sampleFrame(2, String(repeating: "x", count: 3000)), sampleFrame(3, "")]
    let inputs = try frames.map { f -> (ByteBuffer, [ByteBuffer]) in
      (try framed(f), [try f.payload(allocator: ByteBufferAllocator())])
    }
    try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: inputs) { FrameDecoder(maxFrameBytes: 1 << 20) }
  }

  @Test func oversizedFrameIsRejectedFromItsHeader() throws {
    var buf = ByteBufferAllocator().buffer(capacity: 5)
    buf.writeInteger(UInt8(0)); buf.writeInteger(UInt32(10_000_000), endianness: .big)
    #expect(throws: FrameError(.oversized, "frame of 10000000 bytes exceeds the limit of 4194304")) {
      _ = try FrameDecoder.next(from: &buf, maxFrameBytes: FrameFormat.defaultMaxFrameBytes)
    }
  }

  @Test func unknownFlagsAreRejected() throws {
    var buf = ByteBufferAllocator().buffer(capacity: 8)
    buf.writeInteger(UInt8(1)); buf.writeInteger(UInt32(1), endianness: .big); buf.writeInteger(UInt8(0))
    #expect(throws: FrameError.self) { _ = try FrameDecoder.next(from: &buf, maxFrameBytes: 1024) }
  }

  @Test func partialHeaderNeedsMoreData() throws {
    var buf = ByteBufferAllocator().buffer(bytes: [0, 0, 0])
    #expect(try FrameDecoder.next(from: &buf, maxFrameBytes: 1024) == nil)
    #expect(buf.readableBytes == 3)
  }

  @Test func garbagePayloadIsUndecodable() throws {
    let payload = ByteBufferAllocator().buffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
    #expect(throws: FrameError.self) { _ = try Switchboard_V1_Frame(payload: payload) }
  }

  static let testdata = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../proto/testdata").standardized

  @Test func goldenFramesDecodeAndMatchTheirTextFormat() throws {
    let files = try FileManager.default.contentsOfDirectory(atPath: Self.testdata.path).filter { $0.hasSuffix(".frame") }
    #expect(files.count >= 9)
    for file in files {
      var buf = ByteBufferAllocator().buffer(bytes: try Data(contentsOf: Self.testdata.appendingPathComponent(file)))
      let payload = try #require(try FrameDecoder.next(from: &buf, maxFrameBytes: 1 << 20), "\(file)")
      #expect(buf.readableBytes == 0, "\(file) has trailing bytes")
      let frame = try Switchboard_V1_Frame(payload: payload)
      let textFile = Self.testdata.appendingPathComponent(file.replacingOccurrences(of: ".frame", with: ".txtpb"))
      let text = try String(contentsOf: textFile, encoding: .utf8)
      let fromText = try Switchboard_V1_Frame(textFormatString: text)
      #expect(frame == fromText, "\(file) differs from its text-format source")
      // Re-encoding gives the same bytes (deterministic field order).
      let again = try frame.framed(allocator: ByteBufferAllocator())
      let original = try Data(contentsOf: Self.testdata.appendingPathComponent(file))
      #expect(Array(again.readableBytesView) == Array(original), "\(file) does not re-encode byte for byte")
    }
  }
}
