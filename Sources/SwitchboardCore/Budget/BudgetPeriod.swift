/// One period of a budget window.
public struct BudgetPeriod: Sendable, Hashable, Codable {
  /// `2026-12-01` (daily) or `2026-12` (monthly), in the ledger's time zone.
  public var label: String
  /// Wall milliseconds at which the next period starts.
  public var endMillis: Int64
  /// Creates a period.
  public init(label: String, endMillis: Int64) { self.label = label; self.endMillis = endMillis }
}
