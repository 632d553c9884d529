import NIOCore

/// Reads provider error bodies of the common shapes.
enum ErrorBodyParser {
  static func parse(_ body: ByteBuffer) -> ProviderErrorDetails {
    guard body.readableBytes > 0 else { return ProviderErrorDetails() }
    guard let json = try? JSONCoding.decode(JSONValue.self, from: body), json.isObject else {
      return ProviderErrorDetails(message: sanitize(String(buffer: body)))
    }
    func text(_ v: JSONValue?) -> String {
      switch v {
      case .string(let s)?: return s
      case .int(let i)?: return String(i)
      case .double(let d)?: return String(d)
      default: return ""
      }
    }
    var details = ProviderErrorDetails()
    switch json["error"] {
    case .object?:
      let e = json["error"]!
      details.code = text(e["code"])
      details.type = text(e["type"])
      details.message = text(e["message"])
    case .string(let s)?:
      details.message = s
    default: break
    }
    if details.code.isEmpty { details.code = text(json["code"]) }
    if details.type.isEmpty, text(json["type"]) != "error" { details.type = text(json["type"]) }
    if details.message.isEmpty { details.message = text(json["message"]) }
    if details.message.isEmpty { details.message = text(json["detail"]) }
    if details.message.isEmpty, case .object(let d)? = json["detail"] { details.message = JSONValue.object(d).jsonText }
    details.message = sanitize(details.message)
    return details
  }

  /// Trims a provider message to a log-safe length on one line.
  static func sanitize(_ s: String) -> String {
    let oneLine = s.replacingOccurrences(of: "\n", with: " ").replacingOccurrences(of: "\r", with: " ")
    return oneLine.count > 300 ? String(oneLine.prefix(300)) + "…" : oneLine
  }
}
