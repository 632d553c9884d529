/// A caller's W3C Trace Context (`traceparent`, `tracestate`), validated strictly
/// (https://www.w3.org/TR/trace-context/). Anything malformed is dropped, never an
/// error: a request with a bad `traceparent` starts a new trace.
public struct IncomingTraceContext: Sendable, Hashable {
  /// The `traceparent` as received (valid: `00-<32 hex>-<16 hex>-<2 hex>`, lowercase).
  public let traceParent: String
  /// The `tracestate`, when present and well-formed; nil otherwise.
  public let traceState: String?
  /// The trace id: 32 lowercase hex digits, never all zero.
  public var traceID: String { String(decoding: traceParent.utf8.dropFirst(3).prefix(32), as: UTF8.self) }
  /// Whether the caller sampled its span (flag bit 0).
  public let sampled: Bool

  /// The longest `tracestate` accepted (W3C: at least 512 must be propagated;
  /// longer ones may be dropped).
  public static let maxTraceStateBytes = 512
  /// Most `tracestate` list members (W3C: 32).
  public static let maxTraceStateMembers = 32

  /// Validates the two header values; nil when `traceParent` is absent or malformed.
  /// A malformed or oversized `traceState` is dropped and the `traceparent` kept.
  public static func parse(traceParent: String?, traceState: String?) -> IncomingTraceContext? {
    guard let tp = traceParent, let flags = Self.validate(tp) else { return nil }
    var state: String?
    // The size first: a flood of bytes is refused before anything is copied.
    if let raw = traceState, raw.utf8.count <= maxTraceStateBytes * 2, case let ts = raw.trimmingASCIIWhitespace(),
       !ts.isEmpty, ts.utf8.count <= maxTraceStateBytes, Self.isValidTraceState(ts) {
      state = ts
    }
    return IncomingTraceContext(traceParent: tp, traceState: state, sampled: flags & 1 == 1)
  }

  /// W3C `tracestate` grammar: at most 32 comma-separated `key=value` members
  /// (empty members and optional whitespace around them allowed); keys
  /// `lcalpha *(lcalpha / digit / _ - * /)` up to 256, or `tenant@system`; values
  /// up to 256 printable ASCII characters without `,` and `=`, not ending in a space.
  static func isValidTraceState(_ ts: String) -> Bool {
    var members = 0
    for raw in Array(ts.utf8).split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
      var m = raw
      while let f = m.first, f == 0x20 || f == 0x09 { m.removeFirst() }
      while let l = m.last, l == 0x20 || l == 0x09 { m.removeLast() }
      if m.isEmpty { continue }
      members += 1
      guard members <= maxTraceStateMembers, let eq = m.firstIndex(of: UInt8(ascii: "=")) else { return false }
      let key = m[..<eq], value = m[m.index(after: eq)...]
      guard isValidKey(key), !value.isEmpty, value.count <= 256,
            value.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E && $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: "=") }),
            value.last != 0x20 else { return false }
    }
    return true
  }

  private static func isValidKey(_ key: ArraySlice<UInt8>) -> Bool {
    func isLower(_ c: UInt8) -> Bool { c >= 0x61 && c <= 0x7A }
    func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
    func isKeyChar(_ c: UInt8) -> Bool { isLower(c) || isDigit(c) || c == 0x5F || c == 0x2D || c == 0x2A || c == 0x2F }
    if let at = key.firstIndex(of: UInt8(ascii: "@")) {
      let tenant = key[..<at], system = key[key.index(after: at)...]
      guard let t = tenant.first, isLower(t) || isDigit(t), tenant.count <= 241, tenant.allSatisfy(isKeyChar),
            let s = system.first, isLower(s), system.count <= 14, system.allSatisfy(isKeyChar) else { return false }
      return true
    }
    guard let f = key.first, isLower(f), key.count <= 256 else { return false }
    return key.allSatisfy(isKeyChar)
  }

  /// The flags byte of a valid version-00 `traceparent`, or nil. Version 00 only
  /// (its length is exactly 55); lowercase hex; trace and parent id not all zero.
  static func validate(_ tp: String) -> UInt8? {
    guard tp.utf8.count == 55 else { return nil }
    let b = Array(tp.utf8)
    guard b.count == 55, b[0] == UInt8(ascii: "0"), b[1] == UInt8(ascii: "0"),
          b[2] == UInt8(ascii: "-"), b[35] == UInt8(ascii: "-"), b[52] == UInt8(ascii: "-") else { return nil }
    func isHex(_ c: UInt8) -> Bool { (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) }
    for i in 3..<35 where !isHex(b[i]) { return nil }
    for i in 36..<52 where !isHex(b[i]) { return nil }
    guard isHex(b[53]), isHex(b[54]) else { return nil }
    guard b[3..<35].contains(where: { $0 != UInt8(ascii: "0") }), b[36..<52].contains(where: { $0 != UInt8(ascii: "0") }) else { return nil }
    func nibble(_ c: UInt8) -> UInt8 { c <= 0x39 ? c - 0x30 : c - 0x61 + 10 }
    return nibble(b[53]) << 4 | nibble(b[54])
  }

  /// The trace id of a valid `traceparent`, or nil.
  public static func traceID(ofTraceParent tp: String) -> String? {
    validate(tp) == nil ? nil : String(decoding: tp.utf8.dropFirst(3).prefix(32), as: UTF8.self)
  }
}

extension String {
  fileprivate func trimmingASCIIWhitespace() -> String {
    var s = Substring(self)
    while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
    while let l = s.last, l == " " || l == "\t" { s.removeLast() }
    return String(s)
  }
}
