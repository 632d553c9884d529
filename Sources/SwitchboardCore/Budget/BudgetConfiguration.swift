/// Budgets, tenants and estimation, daemon-wide.
public struct BudgetConfiguration: Sendable, Hashable {
  /// Caps on everything the daemon spends (scope `daemon`).
  public var daemon = BudgetCaps()
  /// Tenants and their caps.
  public var tenants = TenantConfiguration()
  /// Explicit provider/model requests.
  public var direct = DirectPolicy()
  /// How reservations bound input tokens. Default: `exact` (a true upper bound).
  public var estimator: InputEstimator = .exact
  /// Time zone the daily and monthly windows are cut in. Default: UTC.
  public var timeZone = "UTC"
  /// Creates the default: no caps, every peer its own `uid:N` tenant.
  public init() {}

  /// The scopes a request on `route` by `tenant` draws on: the daemon's, the
  /// tenant's (and a listed sub-tenant's), the route's, and the route × tenant
  /// ones — only those with a cap, so nothing unbounded is ever created.
  public func scopes(route: RoutePolicy, tenant: ResolvedTenant) -> [BudgetScope] {
    let r = "route:\(route.budgetName ?? route.name)"
    let t = "tenant:\(tenant.name)"
    var out = daemon.scopes("daemon")
    out += tenant.budget.scopes(t)
    // The route's own account always exists (bounded by the config), capped or not,
    // so its spend is visible in health and metrics.
    out += route.budget.perRoute.isUnlimited ? [BudgetScope(key: r, window: .daily, limit: .init())] : route.budget.perRoute.scopes(r)
    out += route.budget.perTenant.scopes("\(r)/\(t)")
    if let sub = tenant.subTenant, tenant.subTenantListed {
      out += tenant.subTenantBudget.scopes("\(t)/\(sub)")
      out += route.budget.perTenant.scopes("\(r)/\(t)/\(sub)")
    }
    if route.onSoftCap == .deny {
      out = out.map { s in
        var s = s
        if let soft = s.limit.soft { s.limit.hard = min(soft, s.limit.hard ?? soft) }
        return s
      }
    }
    return out
  }
}
