import Logging

/// A `LogHandler` writing one logfmt line per record:
/// `ts=2026-11-22T14:00:00.123Z level=info msg="served request" label=switchboard request.id=abc`.
///
/// Metadata (handler, provider, call; later wins) is flattened to dotted keys and
/// sorted; values of secret-looking keys are written as `[redacted]`; a
/// ``JSONLogDocument`` (the JSON line's `decision` object) is left out. Values with
/// spaces, quotes, `=` or control characters are quoted, with `\"`, `\\`, `\n`
/// escapes.
public struct LogfmtLogHandler: LogHandler {
  /// The logger's label.
  public let label: String
  /// Records below this level are dropped.
  public var logLevel: Logger.Level
  /// Metadata attached to every record.
  public var metadata: Logger.Metadata = [:]
  /// Supplies contextual metadata (e.g. task-local request ids) per record.
  public var metadataProvider: Logger.MetadataProvider?
  private let sink: @Sendable (String) -> Void

  /// Creates a handler.
  ///
  /// - Parameters:
  ///   - label: The logger's label, written as `label=`.
  ///   - level: The minimum level written; default `.info`.
  ///   - metadataProvider: Contextual metadata; default none.
  ///   - sink: Receives each line without its newline; default: written to stderr.
  public init(label: String, level: Logger.Level = .info, metadataProvider: Logger.MetadataProvider? = nil,
              sink: (@Sendable (String) -> Void)? = nil) {
    self.label = label; self.logLevel = level; self.metadataProvider = metadataProvider
    self.sink = sink ?? { LogRecord.writeToStderr($0) }
  }

  /// Metadata attached to every record, by key.
  public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  /// Writes one line.
  public func log(event: LogEvent) {
    guard event.level >= logLevel else { return }
    var line = "ts=" + LogRecord.timestamp()
    line += " level=" + event.level.rawValue
    line += " msg=" + Self.value(event.message.description)
    line += " label=" + Self.value(label)
    if let error = event.error { line += " error=" + Self.value(String(describing: error)) }
    for (k, v) in LogRecord.flatten(handler: metadata, provider: metadataProvider, event: event.metadata) {
      if case .stringConvertible(let c) = v, c is JSONLogDocument { continue }  // JSON lines only
      line += " " + Self.key(k) + "=" + Self.value(Self.text(v))
    }
    sink(line)
  }

  /// A metadata value as plain text (arrays as `[a,b]`, dictionaries inside arrays as `{k=v}`).
  static func text(_ v: Logger.MetadataValue) -> String {
    switch v {
    case .string(let s): return s
    case .stringConvertible(let c): return c.description
    case .array(let items): return "[" + items.map(text).joined(separator: ",") + "]"
    case .dictionary(let d):
      return "{" + d.sorted { $0.key < $1.key }.map { "\($0.key)=\(text($0.value))" }.joined(separator: ",") + "}"
    }
  }

  /// A key with characters logfmt cannot carry replaced by `_`.
  static func key(_ k: String) -> String {
    if k.isEmpty { return "_" }
    guard k.unicodeScalars.contains(where: { $0.value <= 0x20 || $0 == "=" || $0 == "\"" || $0.value == 0x7F }) else {
      return k
    }
    return String(String.UnicodeScalarView(k.unicodeScalars.map {
      ($0.value <= 0x20 || $0 == "=" || $0 == "\"" || $0.value == 0x7F) ? "_" : $0
    }))
  }

  /// A value, quoted and escaped when it is empty or holds spaces, quotes, `=`, backslashes or control characters.
  static func value(_ s: String) -> String {
    let needsQuotes = s.isEmpty || s.unicodeScalars.contains {
      $0.value <= 0x20 || $0 == "=" || $0 == "\"" || $0 == "\\" || $0.value == 0x7F
    }
    guard needsQuotes else { return s }
    var out = "\""
    out.reserveCapacity(s.utf8.count + 4)
    for ch in s.unicodeScalars {
      switch ch {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if ch.value < 0x20 || ch.value == 0x7F {
          let hex = String(ch.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(ch)
        }
      }
    }
    out += "\""
    return out
  }
}
