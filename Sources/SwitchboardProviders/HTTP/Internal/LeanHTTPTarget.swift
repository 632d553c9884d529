/// Where a plain-HTTP request goes: parsed from `http://host[:port]/path?query`
/// without Foundation (`[v6]` literals allowed; no user info).
struct LeanHTTPTarget: Hashable, Sendable {
  /// Host name or address (IPv6 without brackets).
  var host: String
  /// TCP port (80 when the URL names none).
  var port: Int
  /// The request target: path and query, at least `/`.
  var path: String
  /// The `Host` header value.
  var hostHeader: String

  /// The pool a request to this target shares connections with.
  var poolKey: PoolKey { PoolKey(host: host, port: port) }

  /// One upstream's connection pool key.
  struct PoolKey: Hashable, Sendable {
    var host: String
    var port: Int
  }

  /// Parses `url`; nil unless it is `http://` with a host and a valid port.
  init?(_ url: String) {
    let utf8 = url.utf8
    let scheme = "http://".utf8
    guard utf8.count > scheme.count,
          zip(utf8.prefix(scheme.count), scheme).allSatisfy({ ($0 | 0x20) == $1 }) else { return nil }
    let rest = url.utf8.dropFirst(scheme.count)
    let authorityEnd = rest.firstIndex(where: { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) ?? rest.endIndex
    let authority = Substring(rest[rest.startIndex..<authorityEnd])
    guard !authority.isEmpty, !authority.contains("@") else { return nil }
    var hostPart = authority
    var portPart: Substring?
    if authority.hasPrefix("[") {
      guard let close = authority.firstIndex(of: "]") else { return nil }
      hostPart = authority[authority.index(after: authority.startIndex)..<close]
      let after = authority[authority.index(after: close)...]
      if !after.isEmpty {
        guard after.hasPrefix(":") else { return nil }
        portPart = after.dropFirst()
      }
    } else if let colon = authority.lastIndex(of: ":") {
      hostPart = authority[..<colon]
      portPart = authority[authority.index(after: colon)...]
    }
    guard !hostPart.isEmpty else { return nil }
    var port = 80
    if let portPart {
      guard !portPart.isEmpty, portPart.count <= 5, let p = Int(portPart), (1...65535).contains(p) else { return nil }
      port = p
    }
    var path = String(Substring(rest[authorityEnd...]))
    if let hash = path.firstIndex(of: "#") { path = String(path[..<hash]) }
    if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
    self.host = String(hostPart)
    self.port = port
    self.path = path
    self.hostHeader = String(authority).lowercased()
  }
}
