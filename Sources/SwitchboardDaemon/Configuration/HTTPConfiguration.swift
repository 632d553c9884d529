import Foundation
import Yams

/// One bearer token of the HTTP endpoint: the environment variable holding it
/// and the tenant a request presenting it runs as.
public struct HTTPTokenSettings: Sendable, Hashable {
  /// Environment variable with the token (the token itself never sits in the file).
  public var env: String
  /// Tenant name requests with this token are accounted to.
  public var tenant: String
  /// Creates a token setting.
  public init(env: String, tenant: String) { self.env = env; self.tenant = tenant }
}

/// The OpenAI-compatible HTTP endpoint (`http:` block). Off unless configured.
public struct HTTPSettings: Sendable, Hashable {
  /// TCP "host:port" to listen on, or nil. Port 0 picks a free port (logged).
  public var listen: String?
  /// Unix-socket path for HTTP over a Unix socket, or nil.
  public var socket: String?
  /// Allow a TCP listen address that is not loopback (needs `tokens`). Default: false.
  public var allowNonLoopback = false
  /// Bearer tokens; empty = only loopback peers, as the default tenant.
  public var tokens: [HTTPTokenSettings] = []
  /// Accept `model: provider/model` (direct targets). Default: false (routes only).
  public var directTargets = false
  /// Largest accepted request body. Default: 8 MiB (images as data URLs are large).
  public var maxBodyBytes = 8 * 1024 * 1024
  /// Open connections per listener; more wait in the accept backlog. Default: 256.
  public var maxConnections = 256
  /// A keep-alive connection idle this long is closed. Default: 60 s.
  public var idleTimeout: Duration = .seconds(60)
  /// A response write the client does not take within this is abandoned and the
  /// connection closed (a client that never reads). Default: 30 s.
  public var writeTimeout: Duration = .seconds(30)
  /// Creates the default settings.
  public init() {}

  /// The TCP listen address split into host and port.
  public var listenHostPort: (host: String, port: Int)? {
    guard let l = listen else { return nil }
    return Self.splitHostPort(l)
  }

  /// Splits "host:port" or "[v6]:port"; nil when malformed.
  public static func splitHostPort(_ s: String) -> (host: String, port: Int)? {
    var host: Substring
    var portText: Substring
    if s.hasPrefix("[") {  // [::1]:8080
      guard let close = s.firstIndex(of: "]"), s[s.index(after: close)...].hasPrefix(":") else { return nil }
      host = s[s.index(after: s.startIndex)..<close]
      portText = s[s.index(close, offsetBy: 2)...]
    } else {
      guard let colon = s.lastIndex(of: ":") else { return nil }
      host = s[..<colon]; portText = s[s.index(after: colon)...]
    }
    guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else { return nil }
    return (String(host), port)
  }

  /// Whether `host` is a loopback name or address.
  public static func isLoopback(host: String) -> Bool {
    if host == "localhost" || host == "::1" { return true }
    let parts = host.split(separator: ".", omittingEmptySubsequences: false)
    return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
  }

  /// A tenant or sub-tenant name: 1–64 of `A-Z a-z 0-9 . _ -`.
  public static func isValidTenantName(_ s: some StringProtocol) -> Bool {
    !s.isEmpty && s.utf8.count <= 64 && s.utf8.allSatisfy { c in
      (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2E || c == 0x5F || c == 0x2D
    }
  }
}

extension DaemonConfiguration {
  /// Parses the `http:` block; nil when absent.
  static func parseHTTP(_ r: ConfigReader, _ node: Node?, socketPath: String) -> HTTPSettings? {
    guard let node, node.null == nil else { return nil }
    let h = r.dict(node, "http", allowed: ["listen", "socket", "allow_non_loopback", "tokens", "direct_targets", "max_body_bytes",
                                           "max_connections", "idle_timeout_ms", "write_timeout_ms"])
    var s = HTTPSettings()
    if let v = r.bool(h["allow_non_loopback"], "http.allow_non_loopback") { s.allowNonLoopback = v }
    if let v = r.string(h["listen"], "http.listen") {
      if let hp = HTTPSettings.splitHostPort(v) {
        s.listen = v
        if !HTTPSettings.isLoopback(host: hp.host) && !s.allowNonLoopback {
          r.issue("http.listen", h["listen"], "not a loopback address; set http.allow_non_loopback: true (and http.tokens) to listen on it")
        }
      } else {
        r.issue("http.listen", h["listen"], "expected host:port, e.g. 127.0.0.1:8080")
      }
    }
    if let v = r.string(h["socket"], "http.socket") {
      if v.isEmpty { r.issue("http.socket", h["socket"], "must not be empty") }
      else if v.utf8.count > 107 { r.issue("http.socket", h["socket"], "path longer than 107 bytes (Unix socket limit)") }
      else if v == socketPath { r.issue("http.socket", h["socket"], "must differ from listen.socket") }
      else { s.socket = v }
    }
    if s.listen == nil && s.socket == nil && r.issues.allSatisfy({ !$0.path.hasPrefix("http.") }) {
      r.issue("http", node, "needs listen (host:port) and/or socket (path)")
    }
    if let v = r.bool(h["direct_targets"], "http.direct_targets") { s.directTargets = v }
    var envs = Set<String>()
    for (tp, tn) in r.list(h["tokens"], "http.tokens") {
      let t = r.dict(tn, tp, allowed: ["env", "tenant"])
      guard let env = r.string(t["env"], "\(tp).env"), let tenant = r.string(t["tenant"], "\(tp).tenant") else {
        if t["env"] == nil { r.issue("\(tp).env", tn, "required (the environment variable holding the token)") }
        if t["tenant"] == nil { r.issue("\(tp).tenant", tn, "required") }
        continue
      }
      if env.isEmpty || env.contains("=") { r.issue("\(tp).env", t["env"], "expected an environment variable name"); continue }
      if !HTTPSettings.isValidTenantName(tenant) { r.issue("\(tp).tenant", t["tenant"], "1-64 characters of A-Z a-z 0-9 . _ -"); continue }
      if !envs.insert(env).inserted { r.issue("\(tp).env", t["env"], "listed twice"); continue }
      s.tokens.append(HTTPTokenSettings(env: env, tenant: tenant))
    }
    if s.allowNonLoopback && s.tokens.isEmpty {
      r.issue("http.allow_non_loopback", h["allow_non_loopback"], "needs http.tokens: without tokens only loopback peers are served")
    }
    if let v = r.int(h["max_body_bytes"], "http.max_body_bytes", min: 1024) { s.maxBodyBytes = v }
    if let v = r.int(h["max_connections"], "http.max_connections", min: 1) { s.maxConnections = v }
    if let v = r.int(h["idle_timeout_ms"], "http.idle_timeout_ms", min: 1) { s.idleTimeout = .milliseconds(v) }
    if let v = r.int(h["write_timeout_ms"], "http.write_timeout_ms", min: 1) { s.writeTimeout = .milliseconds(v) }
    return s
  }
}
