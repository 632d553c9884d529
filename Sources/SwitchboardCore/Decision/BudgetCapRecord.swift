/// A cap that applied to a request, and its headroom when the request was planned.
public struct BudgetCapRecord: Codable, Hashable, Sendable {
  /// Scope key, e.g. `tenant:acme`.
  public var scope: String
  /// `daily` or `monthly`.
  public var window: String
  /// Period label, e.g. `2026-12-01`.
  public var period: String
  /// The soft cap, when set.
  public var softMicroUSD: Int64?
  /// The hard cap, when set.
  public var hardMicroUSD: Int64?
  /// Settled spend in the period.
  public var spentMicroUSD: Int64
  /// Open reservations.
  public var reservedMicroUSD: Int64
  /// What was left under the hard cap (nil without one).
  public var headroomMicroUSD: Int64?
  /// Creates a record from a ledger snapshot entry.
  public init(_ s: BudgetSnapshot) {
    scope = s.scope; window = s.window; period = s.period
    softMicroUSD = s.limit.soft?.value; hardMicroUSD = s.limit.hard?.value
    spentMicroUSD = s.spent.value; reservedMicroUSD = s.reserved.value; headroomMicroUSD = s.remaining?.value
  }
}
