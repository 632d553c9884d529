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
