import Foundation

/// A decoded JSON document, for asserting on the request bodies the fake provider saw.
public enum FakeJSON: Sendable, Hashable, Codable, CustomStringConvertible {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([FakeJSON])
  case object([String: FakeJSON])

  /// Parses `data`; nil when it is not JSON.
  public init?(data: Data) {
    guard let v = try? JSONDecoder().decode(FakeJSON.self, from: data) else { return nil }
    self = v
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    if c.decodeNil() { self = .null } else if let b = try? c.decode(Bool.self) { self = .bool(b) } else if let d = try? c.decode(Double.self) {
      self = .number(d)
    } else if let s = try? c.decode(String.self) { self = .string(s) } else if let a = try? c.decode([FakeJSON].self) {
      self = .array(a)
    } else { self = .object(try c.decode([String: FakeJSON].self)) }
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .null: try c.encodeNil()
    case .bool(let b): try c.encode(b)
    case .number(let d): if d == d.rounded(), abs(d) < 1e15 { try c.encode(Int64(d)) } else { try c.encode(d) }
    case .string(let s): try c.encode(s)
    case .array(let a): try c.encode(a)
    case .object(let o): try c.encode(o)
    }
  }

  /// An object member.
  public subscript(key: String) -> FakeJSON? { if case .object(let o) = self { return o[key] }; return nil }
  /// An array element.
  public subscript(index: Int) -> FakeJSON? {
    if case .array(let a) = self, a.indices.contains(index) { return a[index] }
    return nil
  }
  /// The string value.
  public var string: String? { if case .string(let s) = self { return s }; return nil }
  /// The numeric value.
  public var number: Double? { if case .number(let d) = self { return d }; return nil }
  /// The integer value.
  public var int: Int? { number.map { Int($0) } }
  /// The boolean value.
  public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
  /// The elements of an array.
  public var array: [FakeJSON]? { if case .array(let a) = self { return a }; return nil }
  /// The compact JSON text (keys sorted).
  public var description: String {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return (try? String(decoding: e.encode(self), as: UTF8.self)) ?? "null"
  }
}

extension FakeJSON: ExpressibleByStringLiteral {
  public init(stringLiteral value: String) { self = .string(value) }
}
