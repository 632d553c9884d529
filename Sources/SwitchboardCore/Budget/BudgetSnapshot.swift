/// Spend of one scope in the current period of its window.
public struct BudgetSnapshot: Sendable, Hashable {
  /// The scope key, e.g. `route:chat`.
  public var scope: String
  /// `daily` or `monthly`.
  public var window: String
  /// The period label, e.g. `2026-12-01`.
  public var period: String
  /// Settled spend in the period.
  public var spent: MicroUSD
  /// Open reservations.
  public var reserved: MicroUSD
  /// The caps last seen for the scope.
  public var limit: BudgetLimit
  /// Creates a snapshot entry.
  public init(scope: String, window: String, period: String, spent: MicroUSD, reserved: MicroUSD, limit: BudgetLimit) {
    self.scope = scope; self.window = window; self.period = period; self.spent = spent; self.reserved = reserved; self.limit = limit
  }
  /// What a new reservation could still take under the hard cap; nil without one.
  public var remaining: MicroUSD? {
    limit.hard.map { h in max(.zero, h - spent - reserved) }
  }
}
