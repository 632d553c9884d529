import SwitchboardCore

/// Any JSON value, decoded as is, for the request fields the daemon passes on
/// untouched (a tool's parameter schema, a response format's JSON schema).
enum AnyJSON: Decodable, Sendable, Hashable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([AnyJSON])
  case object([(String, AnyJSON)])

  static func == (a: AnyJSON, b: AnyJSON) -> Bool { a.text == b.text }
  func hash(into h: inout Hasher) { h.combine(text) }

  init(from decoder: any Decoder) throws {
    if var a = try? decoder.unkeyedContainer() {
      var out: [AnyJSON] = []
      while !a.isAtEnd { out.append(try a.decode(AnyJSON.self)) }
      self = .array(out)
      return
    }
    if let o = try? decoder.container(keyedBy: AnyKey.self) {
      self = .object(try o.allKeys.sorted { $0.stringValue < $1.stringValue }.map { ($0.stringValue, try o.decode(AnyJSON.self, forKey: $0)) })
      return
    }
    let c = try decoder.singleValueContainer()
    if c.decodeNil() { self = .null }
    else if let b = try? c.decode(Bool.self) { self = .bool(b) }
    else if let i = try? c.decode(Int64.self) { self = .number(Double(i)) }
    else if let d = try? c.decode(Double.self) { self = .number(d) }
    else { self = .string(try c.decode(String.self)) }
  }

  var isObject: Bool { if case .object = self { true } else { false } }

  /// Compact JSON text.
  var text: String {
    var out = ""
    append(to: &out)
    return out
  }

  func append(to out: inout String) {
    switch self {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .number(let d):
      if d.rounded() == d, abs(d) < 1e15 { out += String(Int64(d)) } else { out += "\(d)" }
    case .string(let s): JSONText.appendQuoted(s, to: &out)
    case .array(let a):
      out += "["
      for (i, v) in a.enumerated() { if i > 0 { out += "," }; v.append(to: &out) }
      out += "]"
    case .object(let o):
      out += "{"
      for (i, (k, v)) in o.enumerated() {
        if i > 0 { out += "," }
        JSONText.appendQuoted(k, to: &out); out += ":"; v.append(to: &out)
      }
      out += "}"
    }
  }
}

struct AnyKey: CodingKey {
  var stringValue: String
  var intValue: Int? { nil }
  init(stringValue: String) { self.stringValue = stringValue }
  init?(intValue: Int) { return nil }
}
