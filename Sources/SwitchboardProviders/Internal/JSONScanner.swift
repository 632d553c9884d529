import NIOCore

/// A strict, single-pass JSON reader over UTF-8 bytes (RFC 8259).
///
/// Provider answers are decoded by walking them with this reader and keeping
/// only the members the dialect needs: everything else is skipped without
/// building anything. Foundation's `JSONDecoder` (a `Data` copy, a full tree,
/// then the `Decodable` machinery) was the largest single cost of decoding a
/// ~300-byte completion; this reads it in one pass with a handful of string
/// allocations. ``JSONValue(parsing:)`` uses it too.
///
/// Errors: any malformed input (bad token, unterminated string, invalid escape or
/// UTF-8, trailing garbage, nesting deeper than ``maxDepth``) throws
/// ``JSONScanner/Failure``.
struct JSONScanner {
  struct Failure: Error, CustomStringConvertible {
    var offset: Int
    var what: String
    var description: String { "invalid JSON at byte \(offset): \(what)" }
  }

  /// The deepest nesting accepted (a hostile body cannot exhaust the stack).
  static let maxDepth = 512

  private let bytes: UnsafeBufferPointer<UInt8>
  private(set) var offset = 0
  private var depth = 0

  /// Reads from `bytes`, which must stay valid while the scanner is used.
  init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

  /// Runs `body` over the UTF-8 of `text`.
  static func withScanner<T>(_ text: String, _ body: (inout JSONScanner) throws -> T) throws -> T {
    var text = text
    return try text.withUTF8 { buf in
      var s = JSONScanner(buf)
      return try body(&s)
    }
  }

  /// Runs `body` over the readable bytes of `buffer`.
  static func withScanner<T>(_ buffer: ByteBuffer, _ body: (inout JSONScanner) throws -> T) throws -> T {
    try buffer.withUnsafeReadableBytes { raw in
      try raw.withMemoryRebound(to: UInt8.self) { buf in
        var s = JSONScanner(buf)
        return try body(&s)
      }
    }
  }

  /// The whole document as a tree; throws unless it is exactly one valid value.
  static func parse(_ text: String) throws -> JSONValue {
    try withScanner(text) { s in
      let v = try s.readValue()
      try s.expectEnd()
      return v
    }
  }

  // MARK: structure

  /// The kind of the next value, without consuming it.
  enum Kind { case object, array, string, number, bool, null }

  mutating func peekKind() throws -> Kind {
    skipWhitespace()
    guard offset < bytes.count else { throw fail("unexpected end") }
    switch bytes[offset] {
    case UInt8(ascii: "{"): return .object
    case UInt8(ascii: "["): return .array
    case UInt8(ascii: "\""): return .string
    case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
    case UInt8(ascii: "n"): return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
    default: throw fail("unexpected character")
    }
  }

  /// Calls `body` with each member's key, positioned at its value; `body` must
  /// consume the value (read or skip it).
  mutating func readObject(_ body: (inout JSONScanner, String) throws -> Void) throws {
    try expect(UInt8(ascii: "{"))
    try enter()
    skipWhitespace()
    if peekByte() == UInt8(ascii: "}") { offset += 1; depth -= 1; return }
    while true {
      skipWhitespace()
      let key = try readString()
      skipWhitespace()
      try expect(UInt8(ascii: ":"))
      let before = offset
      try body(&self, key)
      if offset == before { try skipValue() }
      skipWhitespace()
      guard offset < bytes.count else { throw fail("unterminated object") }
      let c = bytes[offset]
      offset += 1
      if c == UInt8(ascii: "}") { break }
      if c != UInt8(ascii: ",") { throw fail("expected , or }") }
    }
    depth -= 1
  }

  /// Calls `body` with each element's index, positioned at it; `body` must consume it.
  mutating func readArray(_ body: (inout JSONScanner, Int) throws -> Void) throws {
    try expect(UInt8(ascii: "["))
    try enter()
    skipWhitespace()
    if peekByte() == UInt8(ascii: "]") { offset += 1; depth -= 1; return }
    var i = 0
    while true {
      skipWhitespace()
      let before = offset
      try body(&self, i)
      if offset == before { try skipValue() }
      i += 1
      skipWhitespace()
      guard offset < bytes.count else { throw fail("unterminated array") }
      let c = bytes[offset]
      offset += 1
      if c == UInt8(ascii: "]") { break }
      if c != UInt8(ascii: ",") { throw fail("expected , or ]") }
    }
    depth -= 1
  }

  /// Checks that only whitespace follows.
  mutating func expectEnd() throws {
    skipWhitespace()
    if offset != bytes.count { throw fail("trailing characters") }
  }

  // MARK: values

  /// A string, or nil for `null`; throws on anything else.
  mutating func readOptionalString() throws -> String? {
    if try peekKind() == .null { try skipValue(); return nil }
    return try readString()
  }

  /// An integer (a number with a fraction is truncated), or nil for `null`.
  mutating func readOptionalInt() throws -> Int? {
    switch try readValue() {
    case .null: return nil
    case .int(let i): return Int(clamping: i)
    case .double(let d): return d.isFinite ? Int(d) : nil
    default: throw fail("expected a number")
    }
  }

  mutating func readString() throws -> String {
    skipWhitespace()
    try expect(UInt8(ascii: "\""))
    let start = offset
    // Fast path: no escapes.
    while offset < bytes.count {
      let c = bytes[offset]
      if c == UInt8(ascii: "\"") {
        let slice = UnsafeBufferPointer(rebasing: bytes[start..<offset])
        offset += 1
        guard let s = String(validating: slice, as: UTF8.self) else { throw fail("invalid UTF-8") }
        return s
      }
      if c == UInt8(ascii: "\\") { break }
      if c < 0x20 { throw fail("control character in string") }
      offset += 1
    }
    // Slow path: unescape.
    var out: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[start..<offset]))
    while true {
      guard offset < bytes.count else { throw fail("unterminated string") }
      let c = bytes[offset]
      offset += 1
      switch c {
      case UInt8(ascii: "\""):
        guard let s = String(validating: out, as: UTF8.self) else { throw fail("invalid UTF-8") }
        return s
      case UInt8(ascii: "\\"):
        guard offset < bytes.count else { throw fail("unterminated escape") }
        let e = bytes[offset]
        offset += 1
        switch e {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
          var scalar = try readHex4()
          if (0xD800..<0xDC00).contains(scalar) {
            // A high surrogate must be followed by \u and a low one.
            guard offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u")
            else { throw fail("unpaired surrogate") }
            offset += 2
            let low = try readHex4()
            guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate") }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
          } else if (0xDC00..<0xE000).contains(scalar) {
            throw fail("unpaired surrogate")
          }
          guard let u = Unicode.Scalar(scalar) else { throw fail("invalid escape") }
          out.append(contentsOf: UTF8.encode(u)!)
        default: throw fail("invalid escape")
        }
      default:
        if c < 0x20 { throw fail("control character in string") }
        out.append(c)
      }
    }
  }

  /// Any value as a tree (used for small subtrees: usage, error objects).
  mutating func readValue() throws -> JSONValue {
    switch try peekKind() {
    case .object:
      var o: [String: JSONValue] = [:]
      // A repeated key keeps its first value, as Foundation's JSONDecoder does.
      try readObject { s, key in
        let v = try s.readValue()
        if o[key] == nil { o[key] = v }
      }
      return .object(o)
    case .array:
      var a: [JSONValue] = []
      try readArray { s, _ in a.append(try s.readValue()) }
      return .array(a)
    case .string: return .string(try readString())
    case .bool:
      if try matchLiteral("true") { return .bool(true) }
      if try matchLiteral("false") { return .bool(false) }
      throw fail("invalid literal")
    case .null:
      guard try matchLiteral("null") else { throw fail("invalid literal") }
      return .null
    case .number: return try readNumber()
    }
  }

  /// Skips one value of any kind (validating it).
  mutating func skipValue() throws {
    switch try peekKind() {
    case .object: try readObject { s, _ in try s.skipValue() }
    case .array: try readArray { s, _ in try s.skipValue() }
    case .string: try skipString()
    case .number: _ = try readNumber()
    case .bool, .null: _ = try readValue()
    }
  }

  // MARK: internals

  private func fail(_ what: String) -> Failure { Failure(offset: offset, what: what) }

  private mutating func enter() throws {
    depth += 1
    if depth > Self.maxDepth { throw fail("nesting too deep") }
  }

  private func peekByte() -> UInt8? { offset < bytes.count ? bytes[offset] : nil }

  private mutating func skipWhitespace() {
    while offset < bytes.count {
      switch bytes[offset] {
      case 0x20, 0x09, 0x0A, 0x0D: offset += 1
      default: return
      }
    }
  }

  private mutating func expect(_ c: UInt8) throws {
    skipWhitespace()
    guard offset < bytes.count, bytes[offset] == c else { throw fail("expected '\(Character(Unicode.Scalar(c)))'") }
    offset += 1
  }

  private mutating func matchLiteral(_ word: StaticString) throws -> Bool {
    let n = word.utf8CodeUnitCount
    guard offset + n <= bytes.count else { return false }
    let w = UnsafeBufferPointer(start: word.utf8Start, count: n)
    for i in 0..<n where bytes[offset + i] != w[i] { return false }
    offset += n
    return true
  }

  private mutating func readHex4() throws -> UInt32 {
    guard offset + 4 <= bytes.count else { throw fail("short \\u escape") }
    var v: UInt32 = 0
    for _ in 0..<4 {
      let c = bytes[offset]
      offset += 1
      let d: UInt8
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
      default: throw fail("bad hex digit")
      }
      v = v << 4 | UInt32(d)
    }
    return v
  }

  private mutating func skipString() throws {
    try expect(UInt8(ascii: "\""))
    let start = offset
    var plain = true
    while offset < bytes.count {
      let c = bytes[offset]
      if c == UInt8(ascii: "\"") {
        if plain {
          guard String(validating: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self) != nil
          else { throw fail("invalid UTF-8") }
          offset += 1
          return
        }
        break
      }
      if c == UInt8(ascii: "\\") { plain = false; break }
      if c < 0x20 { throw fail("control character in string") }
      offset += 1
    }
    // Escapes (or an unterminated string): let the full reader validate it.
    offset = start - 1
    _ = try readString()
  }

  /// RFC 8259 number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
  /// Integers that fit `Int64` are `.int`, everything else `.double`.
  private mutating func readNumber() throws -> JSONValue {
    let start = offset
    if peekByte() == UInt8(ascii: "-") { offset += 1 }
    guard let first = peekByte(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else { throw fail("bad number") }
    offset += 1
    if first != UInt8(ascii: "0") { skipDigits() }
    var integral = true
    if peekByte() == UInt8(ascii: ".") {
      integral = false
      offset += 1
      guard skipDigits() > 0 else { throw fail("bad fraction") }
    }
    if let e = peekByte(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
      integral = false
      offset += 1
      if let s = peekByte(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { offset += 1 }
      guard skipDigits() > 0 else { throw fail("bad exponent") }
    }
    let text = UnsafeBufferPointer(rebasing: bytes[start..<offset])
    if integral, text.count <= 19 || (text.count == 20 && text[0] == UInt8(ascii: "-")) {
      var v: Int64 = 0
      var overflow = false
      let negative = text[0] == UInt8(ascii: "-")
      for c in text.dropFirst(negative ? 1 : 0) {
        let (m, o1) = v.multipliedReportingOverflow(by: 10)
        let (a, o2) = negative ? m.subtractingReportingOverflow(Int64(c - 48)) : m.addingReportingOverflow(Int64(c - 48))
        if o1 || o2 { overflow = true; break }
        v = a
      }
      if !overflow { return .int(v) }
    }
    guard let d = Double(String(decoding: text, as: UTF8.self)) else { throw fail("bad number") }
    return .double(d)
  }

  @discardableResult
  private mutating func skipDigits() -> Int {
    let start = offset
    while offset < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[offset]) { offset += 1 }
    return offset - start
  }
}

extension JSONScanner {
  /// True when the next value is of `kind`; consumes a `null` and returns false;
  /// throws for any other kind (as `Decodable` would).
  mutating func nonNull(_ kind: Kind) throws -> Bool {
    let k = try peekKind()
    if k == .null { try skipValue(); return false }
    guard k == kind else { throw Failure(offset: offset, what: "unexpected \(k)") }
    return true
  }

  /// A subtree, nil for `null` (like `JSONValue?` decoded by `Decodable`).
  mutating func nullable() throws -> JSONValue? {
    let v = try readValue()
    if case .null = v { return nil }
    return v
  }
}
