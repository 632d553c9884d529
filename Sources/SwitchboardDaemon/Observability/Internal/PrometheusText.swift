/// Pieces of the Prometheus text exposition format 0.0.4.
enum PrometheusText {
  /// Escapes a label value: backslash, double quote and line feed.
  static func escapeLabelValue(_ s: String) -> String {
    guard s.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") })
    else { return s }
    var out = ""
    out.reserveCapacity(s.utf8.count + 8)
    for ch in s.unicodeScalars {
      switch ch {
      case "\\": out += "\\\\"
      case "\"": out += "\\\""
      case "\n": out += "\\n"
      default: out.unicodeScalars.append(ch)
      }
    }
    return out
  }

  /// Escapes HELP text: backslash and line feed.
  static func escapeHelp(_ s: String) -> String {
    var out = ""
    for ch in s.unicodeScalars {
      switch ch {
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      default: out.unicodeScalars.append(ch)
      }
    }
    return out
  }

  /// Formats a sample value or a bucket bound the way Prometheus parses it.
  static func format(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v == .infinity { return "+Inf" }
    if v == -.infinity { return "-Inf" }
    if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
    return "\(v)"
  }

  /// Appends `# HELP` and `# TYPE` lines.
  static func header(_ out: inout String, name: String, type: String, help: String) {
    out += "# HELP \(name) \(escapeHelp(help))\n# TYPE \(name) \(type)\n"
  }

  /// Appends one sample line; `labels` are (name, raw value) pairs.
  static func sample(_ out: inout String, name: String, labels: KeyValuePairs<String, String>, value: String) {
    sample(&out, name: name, labels: Array(labels), value: value)
  }

  /// Appends one sample line; `labels` are (name, raw value) pairs.
  static func sample(_ out: inout String, name: String, labels: [(key: String, value: String)], value: String) {
    out += name
    if !labels.isEmpty {
      out += "{"
      var first = true
      for (k, v) in labels {
        if !first { out += "," }
        first = false
        out += k
        out += "=\""
        out += escapeLabelValue(v)
        out += "\""
      }
      out += "}"
    }
    out += " "
    out += value
    out += "\n"
  }
}

extension Duration {
  /// The duration in seconds, as a Double.
  var secondsDouble: Double {
    let c = components
    return Double(c.seconds) + Double(c.attoseconds) * 1e-18
  }
}
