import Foundation
import SwitchboardCore

/// The one JSON shape of a decision, documented by `docs/decision-event.schema.json`:
/// what the audit store keeps (`event_json`), what `switchboard decisions --db`,
/// `decisions --json` and `explain --json` print, and the `decision` object of the
/// daemon's JSON log line. snake_case keys, numbers as JSON numbers (a non-finite
/// one as the string `"inf"`, `"-inf"` or `"nan"`), optional fields omitted when unset.
///
/// Rows written before this shape existed (camelCase keys, `requestID`) still
/// decode; ``canonical(_:)`` rewrites them into it.
public enum DecisionJSON {
  /// The event in its JSON shape (one line, no trailing newline).
  public static func encode(_ event: DecisionEvent) -> String { DecisionEventJSON.encode(event) }

  /// Decodes the JSON shape, or the camelCase shape of older rows.
  public static func decode(_ json: String) throws -> DecisionEvent {
    try makeDecoder().decode(DecisionEvent.self, from: Data(json.utf8))
  }

  /// `json` (stored or received) in the current shape: returned as is when it already
  /// is, else decoded and re-encoded.
  public static func canonical(_ json: String) throws -> String {
    isCurrentShape(json) ? json : encode(try decode(json))
  }

  /// Whether `json` was written in the current shape (every writer starts with `request_id`).
  static func isCurrentShape(_ json: String) -> Bool { json.hasPrefix("{\"request_id\":") }

  /// Word parts that are acronyms in Swift property names (`requestID`, `peerUID`, `costUSD`, `latencySLAMs`).
  static let acronyms: Set<String> = ["id", "uid", "usd", "sla"]

  /// A Swift property name as its JSON key: `worstCaseMicroUSD` → `worst_case_micro_usd`.
  public static func snakeCaseKey(_ name: String) -> String {
    var out = ""
    let chars = Array(name)
    for (i, c) in chars.enumerated() {
      if c.isUppercase, i > 0 {
        let prevLower = chars[i - 1].isLowercase || chars[i - 1].isNumber
        let nextLower = i + 1 < chars.count && chars[i + 1].isLowercase
        if prevLower || (chars[i - 1].isUppercase && nextLower) { out.append("_") }
      }
      out.append(contentsOf: c.lowercased())
    }
    return out
  }

  /// A JSON key as the Swift property name: `worst_case_micro_usd` → `worstCaseMicroUSD`.
  /// A key without `_` (a one-word key, or an old camelCase row's) is returned unchanged.
  public static func camelCaseKey(_ key: String) -> String {
    guard key.contains("_") else { return key }
    let parts = key.split(separator: "_", omittingEmptySubsequences: true).map(String.init)
    guard let first = parts.first else { return key }
    return first + parts.dropFirst().map { acronyms.contains($0) ? $0.uppercased() : $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
  }

  /// Decodes both shapes; non-finite numbers from their strings.
  static func makeDecoder() -> JSONDecoder {
    let d = JSONDecoder()
    d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    d.keyDecodingStrategy = .custom { path in
      let key = path[path.count - 1]
      if isTagKey(path) { return key }
      return AnyKey(camelCaseKey(key.stringValue))
    }
    return d
  }

  /// Foundation's encoder set up to produce this shape (the writer is checked against it).
  static func makeEncoder() -> JSONEncoder {
    let e = JSONEncoder()
    e.outputFormatting = [.withoutEscapingSlashes]
    e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    e.keyEncodingStrategy = .custom { path in
      let key = path[path.count - 1]
      if isTagKey(path) { return key }
      return AnyKey(snakeCaseKey(key.stringValue))
    }
    return e
  }

  /// A key inside the `tags` object is the client's own: never converted.
  private static func isTagKey(_ path: [any CodingKey]) -> Bool {
    path.count >= 2 && path[path.count - 2].stringValue == "tags" && path[path.count - 2].intValue == nil
  }

  struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { self.stringValue = String(intValue); self.intValue = intValue }
  }
}
