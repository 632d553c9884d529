import NIOCore

/// One server-sent event.
public struct ServerSentEvent: Sendable, Hashable {
  /// The `event:` field, or nil for the default `message` type.
  public var event: String?
  /// The `data:` lines joined with `\n`.
  public var data: String
  /// Creates an event.
  public init(event: String? = nil, data: String) { self.event = event; self.data = data }
}

/// An incremental `text/event-stream` parser: feed it body parts as they arrive;
/// it returns the events completed by each part. Lines may be split across parts.
///
/// Follows the WHATWG rules: lines end in LF, CRLF or CR; a blank line dispatches;
/// `:` starts a comment; one space after the field colon is dropped; an event
/// still incomplete when the stream ends is discarded.
public struct ServerSentEventParser: Sendable {
  private static let eventStream = Array("text/event-stream".utf8)

  /// Whether a `content-type` value names `text/event-stream` (any case, any
  /// parameters), without Foundation's string search (it showed in the profile).
  static func isEventStream(_ contentType: String) -> Bool {
    let needle = eventStream
    var rest = contentType.utf8[...]
    while rest.count >= needle.count {
      if zip(rest.prefix(needle.count), needle).allSatisfy({ ($0 | 0x20) == $1 }) { return true }
      rest = rest.dropFirst()
    }
    return false
  }

  private var line: [UInt8] = []
  private var lastWasCR = false
  private var eventType: String?
  private var data: [UInt8] = []
  private var hasData = false
  /// Comment lines seen since the caller last reset it (keep-alives).
  public var commentsSeen = 0
  /// Bytes in the current incomplete line; bounded so a server cannot grow it forever.
  public let maxLineBytes: Int

  /// Creates a parser; a line longer than `maxLineBytes` is a protocol error.
  public init(maxLineBytes: Int = 8 << 20) { self.maxLineBytes = maxLineBytes }

  /// Thrown when a line grows past `maxLineBytes`.
  public struct LineTooLong: Error, Hashable, Sendable {}

  /// Consumes `buffer` and returns the events it completed.
  public mutating func feed(_ buffer: ByteBuffer) throws -> [ServerSentEvent] {
    var events: [ServerSentEvent] = []
    try buffer.withUnsafeReadableBytes { bytes in
      var start = 0
      var i = 0
      let n = bytes.count
      while i < n {
        let b = bytes[i]
        if b == 0x0A || b == 0x0D {
          if b == 0x0A && lastWasCR && i == start && line.isEmpty {
            // The LF of a CRLF whose CR ended the previous part or line.
            lastWasCR = false
            i += 1; start = i
            continue
          }
          line.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
          if let e = processLine() { events.append(e) }
          line.removeAll(keepingCapacity: true)
          lastWasCR = (b == 0x0D)
          i += 1; start = i
        } else {
          lastWasCR = false
          i += 1
        }
      }
      if start < n {
        line.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<n]))
        if line.count > maxLineBytes { throw LineTooLong() }
      }
    }
    return events
  }

  private mutating func processLine() -> ServerSentEvent? {
    if line.isEmpty {
      defer { eventType = nil; data.removeAll(keepingCapacity: true); hasData = false }
      guard hasData else { return nil }
      return ServerSentEvent(event: eventType, data: String(decoding: data, as: UTF8.self))
    }
    if line[0] == UInt8(ascii: ":") { commentsSeen += 1; return nil }
    let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.count
    let field = line[0..<colon]
    var valueStart = colon < line.count ? colon + 1 : colon
    if valueStart < line.count && line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
    let value = line[valueStart...]
    if field.elementsEqual("data".utf8) {
      if hasData { data.append(0x0A) }
      data.append(contentsOf: value)
      hasData = true
    } else if field.elementsEqual("event".utf8) {
      eventType = String(decoding: value, as: UTF8.self)
    }
    // `id` and `retry` do not matter for a single LLM response.
    return nil
  }
}
