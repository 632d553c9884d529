/// One configured tenant: which callers it is, which sub-tenants they may name,
/// and its budgets.
public struct TenantPolicy: Sendable, Hashable {
  /// The tenant's name (budget scope `tenant:NAME`).
  public var name: String
  /// Peer uids that are this tenant.
  public var uids: Set<UInt32> = []
  /// Peer gids that are this tenant (a uid match wins over a gid match).
  public var gids: Set<UInt32> = []
  /// Bearer token names (HTTP) that are this tenant.
  public var tokens: Set<String> = []
  /// Sub-tenants a caller of this tenant may name in a request; each has its own
  /// scopes (with ``subTenantBudget``) and is charged together with this tenant.
  public var subTenants: Set<String> = []
  /// Accept any sub-tenant name the caller writes, as a label only: charged to this
  /// tenant's scopes, no scope of its own (so invented names grow nothing).
  public var allowAsserted = false
  /// Caps of this tenant across every route.
  public var budget = BudgetCaps()
  /// Caps of each listed sub-tenant.
  public var subTenantBudget = BudgetCaps()
  /// Creates a tenant.
  public init(name: String) { self.name = name }
}

/// The `tenants:` block.
public struct TenantConfiguration: Sendable, Hashable {
  /// Configured tenants by name.
  public var tenants: [String: TenantPolicy] = [:]
  /// Caps of a peer that maps to no tenant (tenant `uid:N`), each uid on its own.
  public var unmappedBudget = BudgetCaps()
  /// Whether an unmapped peer may name any sub-tenant (a label charged to its `uid:N`).
  public var unmappedAllowAsserted = false
  /// Creates an empty configuration: every peer is `uid:N`.
  public init(tenants: [String: TenantPolicy] = [:]) { self.tenants = tenants }
}

/// The tenant a request is charged to.
public struct ResolvedTenant: Sendable, Hashable {
  /// The caller's tenant (`acme`, or `uid:1000` when unmapped).
  public var name: String
  /// The sub-tenant the request named, when allowed.
  public var subTenant: String?
  /// Whether the sub-tenant is a listed one (with its own scopes) rather than asserted.
  public var subTenantListed: Bool
  /// The tenant's caps.
  public var budget: BudgetCaps
  /// The listed sub-tenant's caps.
  public var subTenantBudget: BudgetCaps
  /// Creates a resolved tenant.
  public init(name: String, subTenant: String? = nil, subTenantListed: Bool = false,
              budget: BudgetCaps = .init(), subTenantBudget: BudgetCaps = .init()) {
    self.name = name; self.subTenant = subTenant; self.subTenantListed = subTenantListed
    self.budget = budget; self.subTenantBudget = subTenantBudget
  }
}
