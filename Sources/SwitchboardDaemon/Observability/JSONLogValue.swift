import SwitchboardCore

/// A metadata value that is a number: the JSON log handler writes ``jsonNumber``
/// unquoted (or, when nil, `description` as a string); logfmt writes `description`.
public protocol JSONLogNumber: CustomStringConvertible, Sendable {
  /// The value as a JSON number literal; nil when it has none (NaN, infinity).
  var jsonNumber: String? { get }
}

/// A USD amount in log metadata: `0.00066` in both formats (``formatUSD(_:)``), a
/// number in JSON. A non-finite amount is written as a string.
public struct LogUSD: JSONLogNumber {
  /// The amount.
  public let value: Double
  /// Wraps an amount.
  public init(_ value: Double) { self.value = value }
  public var description: String { formatUSD(value) }
  public var jsonNumber: String? { value.isFinite ? formatUSD(value) : nil }
}

/// A metadata value holding a JSON document: the JSON log handler embeds it as a
/// JSON value (an object, not a string); logfmt leaves it out (its line carries
/// the dotted summary keys instead). The document is produced only when a JSON
/// handler writes the record.
public struct JSONLogDocument: CustomStringConvertible, Sendable {
  private let make: @Sendable () -> String
  /// Wraps a producer of one JSON value (it must return valid JSON).
  public init(_ make: @escaping @Sendable () -> String) { self.make = make }
  /// The JSON text.
  public var json: String { make() }
  public var description: String { make() }
}
