import Foundation
import Logging
import Synchronization

/// What both line formats share: merging metadata, flattening it to dotted keys,
/// redacting secrets, the timestamp, and the stderr writer.
enum LogRecord {
  /// The replacement for a secret value.
  static let redacted = "[redacted]"
  /// Keys the line itself uses; metadata with these names is written as `metadata.<key>`.
  static let reservedKeys: Set<String> = ["ts", "level", "msg", "label", "error"]
  /// Token-count keys that match `token` but are numbers, not credentials.
  private static let tokenCountSuffixes = [
    "input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens", "max_tokens", "total_tokens",
    "prompt_tokens", "completion_tokens", "reasoning_tokens", "estimated_input_tokens",
  ]

  /// Whether the value under the dotted `key` must not be printed: the key matches
  /// /key|secret|token|authorization/i, unless it ends in `fingerprint` or `source`
  /// (`key.source`, `key.fingerprint` are safe) or names a token count (`usage.input_tokens`).
  static func isSensitive(_ key: String) -> Bool {
    let k = key.lowercased()
    guard k.contains("key") || k.contains("secret") || k.contains("token") || k.contains("authorization") else {
      return false
    }
    if k == "key.source" || k.hasSuffix("fingerprint") || k.hasSuffix("source") { return false }
    // A token count (`usage.input_tokens`) is a number, unless a parent segment is itself sensitive.
    let last = k.split(separator: ".").last.map(String.init) ?? k
    let parent = k.dropLast(last.count)
    if tokenCountSuffixes.contains(last),
      !(parent.contains("key") || parent.contains("secret") || parent.contains("token") || parent.contains("authorization")) {
      return false
    }
    return true
  }

  /// Handler metadata, then the provider's, then the call's (later wins), flattened
  /// to dotted keys, redacted, sorted by key.
  static func flatten(handler: Logger.Metadata, provider: Logger.MetadataProvider?, event: Logger.Metadata?)
    -> [(key: String, value: Logger.MetadataValue)]
  {
    var merged = handler
    if let provided = provider?.get(), !provided.isEmpty { merged.merge(provided) { _, new in new } }
    if let event, !event.isEmpty { merged.merge(event) { _, new in new } }
    var flat: [String: Logger.MetadataValue] = [:]
    flat.reserveCapacity(merged.count)
    for (k, v) in merged { flattenInto(&flat, key: k, value: v) }
    return flat.map { k, v in (reservedKeys.contains(k) ? "metadata." + k : k, v) }.sorted { $0.key < $1.key }
  }

  private static func flattenInto(_ flat: inout [String: Logger.MetadataValue], key: String, value: Logger.MetadataValue) {
    switch value {
    case .dictionary(let d):
      for (k, v) in d { flattenInto(&flat, key: key + "." + k, value: v) }
    default:
      flat[key] = redact(key: key, value)
    }
  }

  /// Redacts `value` if `key` is sensitive; inside arrays, redacts dictionary entries by their dotted path.
  private static func redact(key: String, _ value: Logger.MetadataValue) -> Logger.MetadataValue {
    switch value {
    case .string, .stringConvertible:
      return isSensitive(key) ? .string(redacted) : value
    case .array(let items):
      if isSensitive(key) { return .string(redacted) }
      return .array(items.map { redact(key: key, $0) })
    case .dictionary(let d):
      var out: Logger.Metadata = [:]
      for (k, v) in d { out[k] = redact(key: key + "." + k, v) }
      return .dictionary(out)
    }
  }

  /// `2026-11-22T14:00:00.123Z` for the current time.
  static func timestamp(_ date: Date = Date()) -> String {
    let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    var days = ms / 86_400_000
    var msOfDay = ms % 86_400_000
    if msOfDay < 0 { msOfDay += 86_400_000; days -= 1 }
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
    let h = msOfDay / 3_600_000, mi = msOfDay / 60_000 % 60, s = msOfDay / 1000 % 60, f = msOfDay % 1000
    return "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(h, 2)):\(pad(mi, 2)):\(pad(s, 2)).\(pad(f, 3))Z"
  }

  private static func pad(_ v: Int64, _ width: Int) -> String {
    let s = String(v)
    return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
  }

  private static let stderrLock = Mutex<Void>(())

  /// Writes `line` and a newline to stderr in one piece (lines of concurrent loggers never interleave).
  static func writeToStderr(_ line: String) {
    var bytes = Array(line.utf8)
    bytes.append(UInt8(ascii: "\n"))
    stderrLock.withLock { _ in
      bytes.withUnsafeBytes { buf in
        var offset = 0
        while offset < buf.count {
          let n = write(STDERR_FILENO, buf.baseAddress! + offset, buf.count - offset)
          if n < 0 {
            if errno == EINTR { continue }
            return
          }
          offset += n
        }
      }
    }
  }
}
