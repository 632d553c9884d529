/// JSON string literals (RFC 8259 escapes), for the hand-written JSON writers
/// (the audit store's event encoder, the JSON log handler).
public enum JSONText {
  /// Appends `s` as a quoted JSON string to `out`.
  public static func appendQuoted(_ s: String, to out: inout String) {
    out.append("\"")
    var plain = true
    for b in s.utf8 where b < 0x20 || b == 0x22 || b == 0x5C { plain = false; break }
    if plain {
      out.append(s)
    } else {
      for scalar in s.unicodeScalars {
        switch scalar {
        case "\"": out.append("\\\"")
        case "\\": out.append("\\\\")
        case "\n": out.append("\\n")
        case "\r": out.append("\\r")
        case "\t": out.append("\\t")
        case _ where scalar.value < 0x20:
          let hex = String(scalar.value, radix: 16)
          out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
        default: out.unicodeScalars.append(scalar)
        }
      }
    }
    out.append("\"")
  }

  /// `s` as a quoted JSON string.
  public static func quoted(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count + 2)
    appendQuoted(s, to: &out)
    return out
  }
}
