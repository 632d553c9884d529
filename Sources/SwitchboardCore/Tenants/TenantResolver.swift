/// Maps a caller identity and the tenant a request names to the tenant it is
/// charged to. Pure: the socket handler and the HTTP endpoint both use it.
///
/// - A peer whose uid (else gid, else token) is listed under a tenant is that tenant;
///   any other peer is tenant `uid:N` (`token:NAME` for an unmapped token).
/// - A tenant written in the request is honoured only as a sub-tenant: one the
///   caller's tenant lists, or any name with `allow_asserted: true`. Its spend is
///   charged to the sub-tenant and to the caller's tenant. Naming the caller's own
///   tenant is the same as naming none. Anything else is refused
///   (`permission_denied`, `tenant_not_allowed`).
/// - In-process callers are trusted: the tenant they name is their tenant.
public struct TenantResolver: Sendable {
  /// The reason code of a refused tenant.
  public static let notAllowed: ReasonCode = "tenant_not_allowed"
  /// Longest tenant or sub-tenant name accepted.
  public static let maxNameLength = 128

  /// The `tenants:` block it resolves with.
  public let configuration: TenantConfiguration
  private let byUID: [UInt32: String]
  private let byGID: [UInt32: String]
  private let byToken: [String: String]

  /// Creates a resolver. When a uid (gid, token) is listed under several tenants,
  /// the alphabetically first tenant wins (the config check reports the clash).
  public init(_ configuration: TenantConfiguration) {
    self.configuration = configuration
    var u: [UInt32: String] = [:], g: [UInt32: String] = [:], t: [String: String] = [:]
    for name in configuration.tenants.keys.sorted().reversed() {
      let p = configuration.tenants[name]!
      for x in p.uids { u[x] = name }
      for x in p.gids { g[x] = name }
      for x in p.tokens { t[x] = name }
    }
    byUID = u; byGID = g; byToken = t
  }

  /// The caller's own tenant.
  public func tenant(of caller: CallerIdentity) -> ResolvedTenant {
    switch caller {
    case .peer(let uid, let gids):
      if let n = byUID[uid] ?? gids.lazy.compactMap({ byGID[$0] }).first { return configured(n) }
      return ResolvedTenant(name: "uid:\(uid)", budget: configuration.unmappedBudget)
    case .token(let name):
      // A token name listed by a tenant, else a tenant of that name (the HTTP
      // endpoint's `http.tokens` name their tenant directly): both come from config.
      if let n = byToken[name] { return configured(n) }
      if configuration.tenants[name] != nil { return configured(name) }
      return ResolvedTenant(name: name, budget: configuration.unmappedBudget)
    case .inProcess:
      return ResolvedTenant(name: "default", budget: configuration.unmappedBudget)
    }
  }

  /// The tenant a request by `caller` naming `asserted` (nil or empty: none) is charged to.
  public func resolve(_ caller: CallerIdentity, asserted: String?) -> Result<ResolvedTenant, RoutingError> {
    let asserted = asserted ?? ""
    if asserted.utf8.count > Self.maxNameLength {
      return .failure(RoutingError(.permissionDenied, Self.notAllowed, "tenant name longer than \(Self.maxNameLength) bytes"))
    }
    if case .inProcess = caller {
      guard !asserted.isEmpty else { return .success(tenant(of: caller)) }
      if configuration.tenants[asserted] != nil { return .success(configured(asserted)) }
      return .success(ResolvedTenant(name: asserted, budget: configuration.unmappedBudget))
    }
    var own = tenant(of: caller)
    if asserted.isEmpty || asserted == own.name { return .success(own) }
    let policy = configuration.tenants[own.name]
    if let policy, policy.subTenants.contains(asserted) {
      own.subTenant = asserted; own.subTenantListed = true; own.subTenantBudget = policy.subTenantBudget
      return .success(own)
    }
    if policy?.allowAsserted ?? configuration.unmappedAllowAsserted {
      own.subTenant = asserted
      return .success(own)
    }
    // Neither the asserted name nor the config is echoed.
    return .failure(RoutingError(.permissionDenied, Self.notAllowed,
                                 "the caller's tenant may not act as the tenant named in the request; name one of its sub-tenants or none"))
  }

  private func configured(_ name: String) -> ResolvedTenant {
    ResolvedTenant(name: name, budget: configuration.tenants[name]?.budget ?? .init())
  }
}
