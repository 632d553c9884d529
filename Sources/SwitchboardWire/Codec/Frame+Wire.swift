import NIOCore
import SwiftProtobuf

extension Switchboard_V1_Frame {
  /// Decodes a frame from a payload buffer.
  public init(payload: ByteBuffer) throws {
    do {
      var p = payload
      let bytes = p.readBytes(length: p.readableBytes) ?? []
      try self.init(serializedBytes: bytes)
    } catch {
      throw FrameError(.undecodable, "payload is not a switchboard.v1.Frame (\(error))")
    }
  }

  /// Encodes this frame (header included) into a new buffer.
  public func framed(allocator: ByteBufferAllocator) throws -> ByteBuffer {
    let bytes: [UInt8] = try serializedBytes()
    var out = allocator.buffer(capacity: FrameFormat.headerSize + bytes.count)
    out.writeInteger(UInt8(0))
    out.writeInteger(UInt32(bytes.count), endianness: .big)
    out.writeBytes(bytes)
    return out
  }

  /// Encodes just the payload.
  public func payload(allocator: ByteBufferAllocator) throws -> ByteBuffer {
    let bytes: [UInt8] = try serializedBytes()
    return allocator.buffer(bytes: bytes)
  }

  /// A frame carrying a terminal status.
  public static func status(callID: UInt64, _ code: Switchboard_V1_Status.Code, reason: String, message: String,
                            retryable: Bool = false, retryAfterMs: UInt32 = 0, requestID: String = "") -> Self {
    var s = Switchboard_V1_Status()
    s.code = code; s.reasonCode = reason; s.message = message; s.retryable = retryable
    s.retryAfterMs = retryAfterMs; s.requestID = requestID
    var f = Self()
    f.callID = callID
    f.body = .status(s)
    return f
  }

  /// Whether this frame ends its call.
  public var isTerminal: Bool {
    switch body {
    case .completionResponse, .status, .adminResponse, .welcome: return true
    default: return false
    }
  }
}
