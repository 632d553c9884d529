import Foundation
import NIOCore

/// A JSON document tree, used to pass caller-supplied JSON (tool schemas, tool
/// arguments) through to a provider and to build request bodies.
///
/// Objects encode with their keys sorted, so request bodies are deterministic.
public enum JSONValue: Sendable, Hashable, Codable {
  case null
  case bool(Bool)
  case int(Int64)
  case double(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  /// Decodes a JSON text. Throws when it is not valid JSON.
  public init(parsing text: String) throws {
    self = try JSONScanner.parse(text)
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    if c.decodeNil() { self = .null; return }
    if let b = try? c.decode(Bool.self) { self = .bool(b); return }
    if let i = try? c.decode(Int64.self) { self = .int(i); return }
    if let d = try? c.decode(Double.self) { self = .double(d); return }
    if let s = try? c.decode(String.self) { self = .string(s); return }
    if let a = try? c.decode([JSONValue].self) { self = .array(a); return }
    self = .object(try c.decode([String: JSONValue].self))
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .null: try c.encodeNil()
    case .bool(let b): try c.encode(b)
    case .int(let i): try c.encode(i)
    case .double(let d): try c.encode(d)
    case .string(let s): try c.encode(s)
    case .array(let a): try c.encode(a)
    case .object(let o): try c.encode(o)
    }
  }

  /// The member `key` of an object, or nil.
  public subscript(key: String) -> JSONValue? {
    if case .object(let o) = self { return o[key] }
    return nil
  }

  /// The string, when this is one.
  public var stringValue: String? { if case .string(let s) = self { return s }; return nil }

  /// Whether this is an object.
  public var isObject: Bool { if case .object = self { return true }; return false }

  /// Writes the compact JSON text of this value into `buffer`.
  public func write(into buffer: inout ByteBuffer) {
    switch self {
    case .null: buffer.writeStaticString("null")
    case .bool(let b): b ? buffer.writeStaticString("true") : buffer.writeStaticString("false")
    case .int(let i): buffer.writeString(String(i))
    case .double(let d):
      if d.isFinite {
        if d == d.rounded(), abs(d) < 1e15 { buffer.writeString(String(Int64(d))) } else { buffer.writeString("\(d)") }
      } else {
        buffer.writeStaticString("null")
      }
    case .string(let s): Self.writeString(s, into: &buffer)
    case .array(let a):
      buffer.writeInteger(UInt8(ascii: "["))
      for (i, v) in a.enumerated() {
        if i > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
        v.write(into: &buffer)
      }
      buffer.writeInteger(UInt8(ascii: "]"))
    case .object(let o):
      buffer.writeInteger(UInt8(ascii: "{"))
      for (i, key) in o.keys.sorted().enumerated() {
        if i > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
        Self.writeString(key, into: &buffer)
        buffer.writeInteger(UInt8(ascii: ":"))
        o[key]!.write(into: &buffer)
      }
      buffer.writeInteger(UInt8(ascii: "}"))
    }
  }

  /// The compact JSON text of this value.
  public var jsonText: String {
    var b = ByteBuffer()
    write(into: &b)
    return String(buffer: b)
  }

  private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

  static func writeString(_ s: String, into buffer: inout ByteBuffer) {
    buffer.writeInteger(UInt8(ascii: "\""))
    for byte in s.utf8 {
      switch byte {
      case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
      case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
      case 0x0A: buffer.writeStaticString("\\n")
      case 0x0D: buffer.writeStaticString("\\r")
      case 0x09: buffer.writeStaticString("\\t")
      case 0..<0x20:
        buffer.writeStaticString("\\u00")
        buffer.writeInteger(hex[Int(byte >> 4)])
        buffer.writeInteger(hex[Int(byte & 0x0F)])
      default: buffer.writeInteger(byte)
      }
    }
    buffer.writeInteger(UInt8(ascii: "\""))
  }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
  ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral, ExpressibleByFloatLiteral
{
  public init(stringLiteral value: String) { self = .string(value) }
  public init(integerLiteral value: Int64) { self = .int(value) }
  public init(booleanLiteral value: Bool) { self = .bool(value) }
  public init(floatLiteral value: Double) { self = .double(value) }
  public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
  public init(dictionaryLiteral elements: (String, JSONValue)...) {
    self = .object(Dictionary(elements, uniquingKeysWith: { _, b in b }))
  }
}

/// Shared coders: creating a JSONDecoder per response is measurable on hot paths.
enum JSONCoding {
  static let decoder = JSONDecoder()

  /// Decodes `T` from the readable bytes of `buffer`.
  static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
    try decoder.decode(type, from: Data(buffer.readableBytesView))
  }

  /// Decodes `T` from a string.
  static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
    try decoder.decode(type, from: Data(text.utf8))
  }
}
