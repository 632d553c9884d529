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
