/// Daily and monthly caps of one budget owner (a tenant, a route, the daemon).
public struct BudgetCaps: Sendable, Hashable {
  /// Cap per calendar day.
  public var daily = BudgetLimit()
  /// Cap per calendar month.
  public var monthly = BudgetLimit()
  /// Creates caps (unlimited by default).
  public init(daily: BudgetLimit = .init(), monthly: BudgetLimit = .init()) { self.daily = daily; self.monthly = monthly }
  /// Whether no cap is set.
  public var isUnlimited: Bool { daily.isUnlimited && monthly.isUnlimited }
  /// The limit of `window`.
  public subscript(_ window: BudgetWindow) -> BudgetLimit {
    switch window { case .daily: daily; case .monthly: monthly }
  }
  /// One scope per window that has a cap, keyed `key`.
  public func scopes(_ key: String) -> [BudgetScope] {
    BudgetWindow.allCases.compactMap { w in self[w].isUnlimited ? nil : BudgetScope(key: key, window: w, limit: self[w]) }
  }
}
