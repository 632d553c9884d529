/// Who is calling, as the transport proved it (never what the request claims).
public enum CallerIdentity: Sendable, Hashable, CustomStringConvertible {
  /// A Unix-socket peer: uid and gids from SO_PEERCRED.
  case peer(uid: UInt32, gids: [UInt32])
  /// An authenticated bearer token, by its configured name (the HTTP endpoint).
  case token(String)
  /// Code in the same process calling `Router.complete` directly (drills, tests, the
  /// embedded demo): trusted, so a tenant it names is taken as its tenant.
  case inProcess

  public var description: String {
    switch self {
    case .peer(let uid, _): "uid:\(uid)"
    case .token(let name): "token:\(name)"
    case .inProcess: "in-process"
    }
  }
}
