/// A soft and a hard cap (either may be absent), in micro-USD.
public struct BudgetLimit: Sendable, Hashable, Codable {
  /// Crossing it triggers the scope's `on_soft_cap` action.
  public var soft: MicroUSD?
  /// Never crossed by reservations; see ``BudgetLedger``.
  public var hard: MicroUSD?
  /// Creates a limit in micro-USD.
  public init(soft: MicroUSD? = nil, hard: MicroUSD? = nil) { self.soft = soft; self.hard = hard }
  /// Creates a limit from USD amounts (config values).
  public init(softUSD: Double?, hardUSD: Double?) {
    self.soft = softUSD.map { MicroUSD(usd: $0) }; self.hard = hardUSD.map { MicroUSD(usd: $0) }
  }
  /// Whether neither cap is set.
  public var isUnlimited: Bool { soft == nil && hard == nil }
}

/// The windows a budget counts spend in.
public enum BudgetWindow: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
  /// One calendar day in the ledger's time zone.
  case daily
  /// One calendar month in the ledger's time zone.
  case monthly
  public static func < (a: BudgetWindow, b: BudgetWindow) -> Bool { a.rawValue < b.rawValue }
}

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

/// What to do when a reservation pushes a scope over its soft cap.
public enum SoftCapAction: String, Sendable, Hashable, Codable, CaseIterable {
  /// A `soft_budget_exceeded:` warning in the decision event and a metric.
  case warn
  /// Also re-rank the plan by worst-case cost (cheapest first) while over the soft cap.
  case cheapest
  /// Treat the soft cap as a hard one.
  case deny
}

/// One budget a request draws on: a scope key and a window.
public struct BudgetScope: Hashable, Sendable {
  /// e.g. `tenant:acme`, `route:payments`, `route:payments/tenant:acme`, `daemon`.
  public var key: String
  /// The window the limit counts in.
  public var window: BudgetWindow
  /// The caps.
  public var limit: BudgetLimit
  /// Creates a scope.
  public init(key: String, window: BudgetWindow = .daily, limit: BudgetLimit) {
    self.key = key; self.window = window; self.limit = limit
  }
  /// `key@window`, the account the ledger keeps (e.g. `route:chat@daily`).
  public var account: String { "\(key)@\(window.rawValue)" }
}
