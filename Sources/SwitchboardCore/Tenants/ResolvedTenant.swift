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
