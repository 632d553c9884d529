import NIOCore

/// Limits and constants of the frame format.
public enum FrameFormat {
  /// Bytes before the payload: flags (1) + length (4).
  public static let headerSize = 5
  /// Default largest payload.
  public static let defaultMaxFrameBytes = 4 * 1024 * 1024
  /// Protocol version spoken by this build.
  public static let protocolVersion: UInt32 = 1
}

/// A frame that cannot be accepted; the connection is closed after a `PROTOCOL_ERROR`.
public struct FrameError: Error, Hashable, Sendable, CustomStringConvertible {
  /// What was wrong.
  public enum Kind: String, Sendable {
    case badFlags = "bad_flags", oversized, undecodable
    /// The daemon-wide budget for partial frames is used up.
    case busy = "inbound_budget"
    /// A started frame did not complete within `frame_read_timeout_ms`.
    case readTimeout = "read_timeout"
    /// Queued answers made no progress within `write_timeout_ms` (the client does not read).
    case writeTimeout = "write_timeout"
    /// No call and no frame within `idle_timeout_ms`.
    case idleTimeout = "idle_timeout"
  }
  public var kind: Kind
  public var message: String
  /// Creates an error.
  public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }
  public var description: String { "\(kind.rawValue): \(message)" }
}

/// Splits the byte stream into frame payloads: flags byte (must be 0), a 4-byte
/// big-endian length, then the payload. Rejects unknown flags and frames above
/// `maxFrameBytes` as soon as their header arrives (never buffers them).
public struct FrameDecoder: ByteToMessageDecoder, Sendable {
  public typealias InboundOut = ByteBuffer
  /// The largest payload accepted.
  public let maxFrameBytes: Int
  /// Creates a decoder.
  public init(maxFrameBytes: Int = FrameFormat.defaultMaxFrameBytes) { self.maxFrameBytes = maxFrameBytes }

  public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
    guard let payload = try Self.next(from: &buffer, maxFrameBytes: maxFrameBytes) else { return .needMoreData }
    context.fireChannelRead(Self.wrapInboundOut(payload))
    return .continue
  }

  public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
    while try decode(context: context, buffer: &buffer) == .continue {}
    return .needMoreData
  }

  /// Takes one complete payload off the front of `buffer`, or nil when more bytes are needed.
  public static func next(from buffer: inout ByteBuffer, maxFrameBytes: Int) throws -> ByteBuffer? {
    guard buffer.readableBytes >= FrameFormat.headerSize,
      let flags = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
      let length = buffer.getInteger(at: buffer.readerIndex + 1, endianness: .big, as: UInt32.self)
    else { return nil }
    guard flags == 0 else { throw FrameError(.badFlags, "unsupported flags byte \(flags)") }
    guard Int(length) <= maxFrameBytes else {
      throw FrameError(.oversized, "frame of \(length) bytes exceeds the limit of \(maxFrameBytes)")
    }
    guard buffer.readableBytes >= FrameFormat.headerSize + Int(length) else { return nil }
    buffer.moveReaderIndex(forwardBy: FrameFormat.headerSize)
    return buffer.readSlice(length: Int(length))
  }
}

/// Prefixes each outgoing payload with the frame header.
public struct FrameEncoder: MessageToByteEncoder, Sendable {
  public typealias OutboundIn = ByteBuffer
  /// Creates an encoder.
  public init() {}
  public func encode(data: ByteBuffer, out: inout ByteBuffer) throws {
    Self.write(payload: data, into: &out)
  }
  /// Writes the header and `payload` into `out`.
  public static func write(payload: ByteBuffer, into out: inout ByteBuffer) {
    out.reserveCapacity(minimumWritableBytes: FrameFormat.headerSize + payload.readableBytes)
    out.writeInteger(UInt8(0))
    out.writeInteger(UInt32(payload.readableBytes), endianness: .big)
    var p = payload
    out.writeBuffer(&p)
  }
}
