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
