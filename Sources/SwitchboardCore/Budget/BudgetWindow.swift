/// The windows a budget counts spend in.
public enum BudgetWindow: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
  /// One calendar day in the ledger's time zone.
  case daily
  /// One calendar month in the ledger's time zone.
  case monthly
  public static func < (a: BudgetWindow, b: BudgetWindow) -> Bool { a.rawValue < b.rawValue }
}
