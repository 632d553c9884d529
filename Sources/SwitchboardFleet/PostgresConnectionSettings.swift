import Foundation

/// Where the fleet database is: parsed from a `postgresql://user@host:port/db?sslmode=…`
/// URL. A password inside the URL is refused (it would sit in the config file and
/// in `ps`): it comes from `password_env` or `password_file`. The description
/// names no host, user or password.
public struct PostgresConnectionSettings: Sendable, Hashable, CustomStringConvertible {
  /// TLS to the server.
  public enum TLSMode: String, Sendable, Hashable, CaseIterable {
    /// Plain TCP (loopback, a unix socket, or a trusted network).
    case disable
    /// TLS when the server offers it (default).
    case prefer
    /// TLS or no connection.
    case require
  }
  /// Host name or address; nil with ``unixSocketPath``.
  public var host: String?
  /// TCP port. Default 5432.
  public var port = 5432
  /// A unix socket path (`?host=/run/postgresql` or a `/`-leading host), instead of TCP.
  public var unixSocketPath: String?
  /// The role.
  public var user: String
  /// The database. Default: the user's name.
  public var database: String
  /// `sslmode`.
  public var tls: TLSMode = .prefer
  /// The password (from `password_env` / `password_file`), nil for trust or peer auth.
  public var password: Secret?

  /// A password whose every printed form is redacted.
  public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The value; pass it to the driver only.
    public let value: String
    /// Wraps a value.
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
  }

  /// Parses `url`; the error says what is wrong with it without quoting it.
  public static func parse(_ url: String) -> Result<PostgresConnectionSettings, URLProblem> {
    guard url.hasPrefix("postgresql://") || url.hasPrefix("postgres://") else { return .failure(.scheme) }
    guard let c = URLComponents(string: url) else { return .failure(.malformed) }
    if c.password != nil { return .failure(.passwordInURL) }
    guard let user = c.user?.removingPercentEncoding, !user.isEmpty else { return .failure(.noUser) }
    var s = PostgresConnectionSettings(host: nil, user: user, database: user)
    let items = c.queryItems ?? []
    for item in items {
      switch item.name {
      case "sslmode":
        switch item.value ?? "" {
        case "disable": s.tls = .disable
        case "prefer", "allow": s.tls = .prefer
        case "require", "verify-ca", "verify-full": s.tls = .require
        default: return .failure(.sslmode)
        }
      case "host":
        guard let v = item.value, v.hasPrefix("/") else { return .failure(.host) }
        s.unixSocketPath = v.hasSuffix(".s.PGSQL.\(c.port ?? 5432)") ? v : v + "/.s.PGSQL.\(c.port ?? 5432)"
      case "application_name", "connect_timeout": continue
      default: return .failure(.parameter)
      }
    }
    if s.unixSocketPath == nil {
      guard let h = c.host, !h.isEmpty else { return .failure(.host) }
      s.host = h.hasPrefix("[") && h.hasSuffix("]") ? String(h.dropFirst().dropLast()) : h
    }
    if let p = c.port {
      guard (1...65535).contains(p) else { return .failure(.port) }
      s.port = p
    }
    let path = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
    if !path.isEmpty {
      guard !path.contains("/"), let db = path.removingPercentEncoding, !db.isEmpty else { return .failure(.database) }
      s.database = db
    }
    return .success(s)
  }

  /// What is wrong with a URL (fixed texts: the URL itself is never quoted).
  public enum URLProblem: String, Error, Sendable, Hashable, CustomStringConvertible {
    case scheme = "must start with postgresql:// (or postgres://)"
    case malformed = "is not a well-formed URL"
    case passwordInURL = "must not contain a password: use password_env or password_file"
    case noUser = "must name a user (postgresql://USER@HOST/DB)"
    case host = "must name a host, or a unix socket directory as ?host=/path"
    case port = "has a port outside 1-65535"
    case database = "names an invalid database"
    case sslmode = "has an unknown sslmode (disable, prefer, require)"
    case parameter = "has an unsupported query parameter (sslmode, host, application_name)"
    public var description: String { rawValue }
  }

  /// Creates settings.
  public init(host: String?, port: Int = 5432, unixSocketPath: String? = nil, user: String, database: String,
              tls: TLSMode = .prefer, password: Secret? = nil) {
    self.host = host; self.port = port; self.unixSocketPath = unixSocketPath; self.user = user
    self.database = database; self.tls = tls; self.password = password
  }

  public var description: String { "postgresql (tls: \(tls.rawValue))" }
}
