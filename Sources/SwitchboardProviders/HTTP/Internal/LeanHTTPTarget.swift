import NIOSSL

/// Where a request goes: parsed from `http[s]://host[:port]/path?query` without
/// Foundation (`[v6]` literals allowed; no user info).
struct LeanHTTPTarget: Hashable, Sendable {
  /// Host name or address (IPv6 without brackets).
  var host: String
  /// TCP port (80, or 443 for `https`, when the URL names none).
  var port: Int
  /// Whether the URL is `https`.
  var isHTTPS: Bool
  /// The TLS context of an `https` target (the adapter sets it: its provider's
  /// trust, or the client's default). Connections are pooled per context.
  var tls: LeanTLSContext?
  /// The request target: path and query, at least `/`.
  var path: String
  /// The `Host` header value.
  var hostHeader: String

  /// The pool a request to this target shares connections with.
  var poolKey: PoolKey { PoolKey(host: host, port: port, tls: tls) }

  /// One upstream's connection pool key.
  struct PoolKey: Hashable, Sendable {
    var host: String
    var port: Int
    var tls: LeanTLSContext? = nil
  }

  /// Parses `url`; nil unless it is `http://` or `https://` with a host and a valid port.
  init?(_ url: String) {
    let utf8 = url.utf8
    let plain = "http://".utf8, secure = "https://".utf8
    let isHTTPS: Bool
    if utf8.count > secure.count, zip(utf8.prefix(secure.count), secure).allSatisfy({ ($0 | 0x20) == $1 }) {
      isHTTPS = true
    } else if utf8.count > plain.count, zip(utf8.prefix(plain.count), plain).allSatisfy({ ($0 | 0x20) == $1 }) {
      isHTTPS = false
    } else {
      return nil
    }
    let rest = url.utf8.dropFirst(isHTTPS ? secure.count : plain.count)
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
    var port = isHTTPS ? 443 : 80
    if let portPart {
      guard !portPart.isEmpty, portPart.count <= 5, let p = Int(portPart), (1...65535).contains(p) else { return nil }
      port = p
    }
    var path = String(Substring(rest[authorityEnd...]))
    if let hash = path.firstIndex(of: "#") { path = String(path[..<hash]) }
    if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
    self.host = String(hostPart)
    self.port = port
    self.isHTTPS = isHTTPS
    self.tls = nil
    self.path = path
    self.hostHeader = String(authority).lowercased()
  }
}

/// A TLS context compared by identity: connections made with one context are
/// pooled apart from another's (another provider's trust roots).
struct LeanTLSContext: Hashable, @unchecked Sendable {
  let context: NIOSSLContext

  static func == (a: Self, b: Self) -> Bool { a.context === b.context }
  func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(context)) }
}
