/// The bounds on a request's tags (`CompletionRequest.tags`, the HTTP endpoint's
/// `metadata` and `x-switchboard-tags`), which are stored with its decision and
/// filterable (`switchboard decisions --tag K=V`).
///
/// A request over a bound is refused (`INVALID_ARGUMENT` / `invalid_tags`) rather
/// than trimmed: a silently dropped tag would make the decision unfindable by the
/// label its caller relies on. The message names the bound that was crossed, never
/// the offending key or value (a client may have put anything there).
public enum RequestTags {
  /// At most this many tags per request.
  public static let maxCount = 16
  /// A key is 1 to this many bytes.
  public static let maxKeyBytes = 64
  /// A value is at most this many bytes (UTF-8).
  public static let maxValueBytes = 256
  /// The reason code of a refusal.
  public static let reason: ReasonCode = "invalid_tags"

  /// Why `tags` cannot be accepted, naming the limit; nil when they are fine.
  public static func problem(_ tags: [String: String]) -> String? {
    if tags.count > maxCount { return "too many tags: \(tags.count) (at most \(maxCount))" }
    // Sorted, so the message for a given set of tags is always the same one.
    for (key, value) in tags.sorted(by: { $0.key < $1.key }) {
      let keyBytes = key.utf8.count
      if keyBytes == 0 { return "a tag key is empty (keys are 1-\(maxKeyBytes) bytes)" }
      if keyBytes > maxKeyBytes { return "a tag key is \(keyBytes) bytes (at most \(maxKeyBytes))" }
      if !isValidKey(key) {
        return "a tag key has a character outside printable ASCII, a space or '=' (keys are 1-\(maxKeyBytes) bytes of printable ASCII)"
      }
      let valueBytes = value.utf8.count
      if valueBytes > maxValueBytes { return "a tag value is \(valueBytes) bytes (at most \(maxValueBytes))" }
      if !isValidValue(value) { return "a tag value has a control character (values are printable text)" }
    }
    return nil
  }

  /// Printable ASCII without space and `=` (so `K=V` on the command line is unambiguous), 1-64 bytes.
  public static func isValidKey(_ key: String) -> Bool {
    let n = key.utf8.count
    return n > 0 && n <= maxKeyBytes && key.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "=") }
  }

  /// No control characters (C0, DEL, C1, line and paragraph separators), at most 256 bytes; may be empty.
  public static func isValidValue(_ value: String) -> Bool {
    guard value.utf8.count <= maxValueBytes else { return false }
    return value.unicodeScalars.allSatisfy { s in
      !(s.value < 0x20 || (s.value >= 0x7F && s.value < 0xA0) || s.value == 0x2028 || s.value == 0x2029)
    }
  }
}
