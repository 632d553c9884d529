import Logging
import SwitchboardCore

/// A `LogHandler` writing one JSON object per line:
/// `{"ts":"2026-11-22T14:00:00.123Z","level":"info","msg":"served request","label":"switchboard","request.id":"abc"}`.
///
/// Metadata (handler, provider, call; later wins) is flattened to dotted keys, nested
/// dictionaries included, and sorted; values of secret-looking keys are written as
/// `"[redacted]"`. Integers, finite floating-point numbers, ``JSONLogNumber``s
/// (``LogUSD``) and booleans given as `.stringConvertible` are written as JSON
/// numbers and booleans, a ``JSONLogDocument`` as the JSON value it holds (the
/// decision line's `decision` object); everything else as strings.
public struct JSONLogHandler: LogHandler {
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
  ///   - label: The logger's label, written as `"label"`.
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
    var line = "{\"ts\":\"" + LogRecord.timestamp() + "\""
    line += ",\"level\":\"" + event.level.rawValue + "\""
    line += ",\"msg\":" + Self.string(event.message.description)
    line += ",\"label\":" + Self.string(label)
    if let error = event.error { line += ",\"error\":" + Self.string(String(describing: error)) }
    for (k, v) in LogRecord.flatten(handler: metadata, provider: metadataProvider, event: event.metadata) {
      line += "," + Self.string(k) + ":" + Self.json(v)
    }
    line += "}"
    sink(line)
  }

  /// A metadata value as JSON (arrays as arrays, dictionaries inside arrays as objects).
  static func json(_ v: Logger.MetadataValue) -> String {
    switch v {
    case .string(let s): return string(s)
    case .stringConvertible(let c):
      switch c {
      case let doc as JSONLogDocument: return doc.json
      case let n as any JSONLogNumber: return n.jsonNumber ?? string(n.description)
      case let b as Bool: return b ? "true" : "false"
      case let i as any BinaryInteger: return i.description
      case let d as Double where d.isFinite: return d.description
      case let f as Float where f.isFinite: return f.description
      default: return string(c.description)
      }
    case .array(let items): return "[" + items.map(json).joined(separator: ",") + "]"
    case .dictionary(let d):
      return "{" + d.sorted { $0.key < $1.key }.map { string($0.key) + ":" + json($0.value) }.joined(separator: ",") + "}"
    }
  }

  /// A JSON string literal (RFC 8259 escapes).
  static func string(_ s: String) -> String { JSONText.quoted(s) }
}
