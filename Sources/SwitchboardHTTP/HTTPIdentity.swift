import NIOCore
import SwitchboardDaemon

/// Who an HTTP request is from: bearer tokens (from the environment, compared
/// in constant time, never logged) map to tenants; without tokens configured
/// only loopback peers are served, as the daemon's default tenant.
///
/// Kept to two small functions (`tenant(authorization:peer:)` and
/// `subTenant(_:header:)`) so the caller-identity type of the budget work can
/// take their place.
public final class HTTPIdentity: Sendable {
  struct Token: Sendable { var bytes: [UInt8]; var tenant: String }
  private let tokens: [Token]

  /// A token's environment variable is unset or empty (the message names the variable, never a value).
  public struct MissingTokenError: Error, CustomStringConvertible {
    public var variable: String
    public var description: String { "http.tokens: environment variable \(variable) is unset or empty" }
  }

  /// Resolves every token from `environment`; a missing one fails the start.
  public init(settings: [HTTPTokenSettings], environment: [String: String]) throws {
    var out: [Token] = []
    for t in settings {
      guard let v = environment[t.env], !v.isEmpty else { throw MissingTokenError(variable: t.env) }
      out.append(Token(bytes: Array(v.utf8), tenant: t.tenant))
    }
    tokens = out
  }

  /// Whether tokens are required.
  public var requiresToken: Bool { !tokens.isEmpty }

  /// The tenant of a request: the token's tenant, or nil (the daemon's default)
  /// for a loopback peer when no tokens are configured. `peerIsLocal`: loopback
  /// TCP or the Unix socket.
  public func tenant(authorization: String?, peerIsLocal: Bool) throws(OpenAIError) -> String? {
    guard !tokens.isEmpty else {
      guard peerIsLocal else {
        throw OpenAIError(status: 403, type: "permission_error", code: "not_loopback",
                          message: "only loopback clients are served without http.tokens", shouldRetry: false)
      }
      return nil
    }
    guard let auth = authorization, auth.utf8.count > 7, auth.prefix(7).lowercased() == "bearer " else {
      throw OpenAIError(status: 401, type: "authentication_error", code: "missing_token",
                        message: "an Authorization: Bearer token is required", shouldRetry: false)
    }
    let presented = Array(auth.utf8.dropFirst(7))
    var match: String?
    for t in tokens where Self.constantTimeEqual(presented, t.bytes) { match = t.tenant }
    guard let match else {
      throw OpenAIError(status: 401, type: "authentication_error", code: "invalid_token",
                        message: "the bearer token is not valid", shouldRetry: false)
    }
    return match
  }

  /// The tenant of a loopback caller when no tokens are configured.
  public static let defaultTenant = "default"

  /// The sub-tenant `x-switchboard-tenant` names (nil: none), checked for shape only;
  /// whether the caller's tenant allows it is the router's tenant rule.
  public static func subTenant(header: String?) throws(OpenAIError) -> String? {
    guard let header, !header.isEmpty else { return nil }
    guard HTTPSettings.isValidTenantName(header) else {
      throw OpenAIError(status: 400, type: "invalid_request_error", code: "invalid_tenant",
                        message: "x-switchboard-tenant must be 1-64 characters of A-Z a-z 0-9 . _ -", shouldRetry: false)
    }
    return header
  }

  /// Compares every byte of the longer input, whatever differs where; the time
  /// depends on the lengths only.
  static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    let n = max(a.count, b.count)
    var diff = UInt8(a.count == b.count ? 0 : 1)
    for i in 0..<n {
      let x = i < a.count ? a[i] : 0
      let y = i < b.count ? b[i] : 0
      diff |= x ^ y
    }
    return diff == 0
  }

  /// Whether a peer address is loopback (or a Unix socket).
  public static func isLocal(_ address: SocketAddress?) -> Bool {
    switch address {
    case .unixDomainSocket?: return true
    case .v4?: return address?.ipAddress?.hasPrefix("127.") == true
    case .v6?:
      let h = address?.ipAddress?.lowercased() ?? ""
      return h == "::1" || h.hasPrefix("::ffff:127.")
    default: return false
    }
  }
}
