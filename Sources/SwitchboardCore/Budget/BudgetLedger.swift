/// A reservation held by one attempt until it settles or is released.
public struct BudgetReservation: Sendable, Hashable {
  /// Unique within the ledger.
  public var id: UInt64
  /// The worst case reserved in every scope.
  public var amount: MicroUSD
  /// The scopes it was reserved in (with the caps in force at reserve time).
  public var scopes: [BudgetScope]
  /// The request it belongs to.
  public var requestID: String
  /// Creates a reservation (ledgers do this).
  public init(id: UInt64, amount: MicroUSD, scopes: [BudgetScope], requestID: String) {
    self.id = id; self.amount = amount; self.scopes = scopes; self.requestID = requestID
  }
}

/// The outcome of a reservation request.
public enum ReservationResult: Sendable {
  /// Reserved; `softExceeded` lists scope keys now over their soft cap.
  case reserved(BudgetReservation, softExceeded: [String])
  /// Refused: the scope (`key@window`) whose cap it would cross, and what remains there.
  case denied(scope: String, remaining: MicroUSD)
  /// The ledger cannot record the reservation (its store failed): fail closed.
  case unavailable(String)
}

/// What a settle did.
public struct SettleResult: Sendable, Hashable {
  /// The amount charged to every scope of the reservation.
  public var charged: MicroUSD
  /// How far the charge went over the reservation (zero when it fit).
  public var overage: MicroUSD
  /// Scopes (`key@window`) that are now over their hard cap because of this charge.
  public var overCap: [String]
  /// Creates a result.
  public init(charged: MicroUSD, overage: MicroUSD, overCap: [String]) {
    self.charged = charged; self.overage = overage; self.overCap = overCap
  }
}

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

/// Reserve → settle accounting of spend against caps.
///
/// Each attempt reserves its worst-case cost in every scope before it starts and
/// settles what it consumed after (or releases the reservation when nothing was
/// sent), so concurrent requests cannot together cross a hard cap: a reservation
/// is refused when `spent + reserved + amount > hard` in any scope. A settle larger
/// than its reservation is recorded in full (the money was spent); the scope then
/// refuses every new reservation until its period ends, so a cap is exceeded at
/// most by the overage of the attempts in flight at that moment, never by
/// concurrency.
///
/// Async so that a shared store (PostgreSQL, a later issue) can implement it.
public protocol BudgetLedger: Sendable {
  /// Reserves `amount` in every scope, or refuses when any hard cap would be crossed.
  func reserve(_ amount: MicroUSD, scopes: [BudgetScope], requestID: String, wallMillis: Int64) async -> ReservationResult
  /// Replaces the reservation with `actual`, charged to the current period of each scope.
  func settle(_ reservation: BudgetReservation, actual: MicroUSD, wallMillis: Int64) async -> SettleResult
  /// Drops the reservation without charging anything.
  func release(_ reservation: BudgetReservation) async
  /// Spend of `scopes` (every scope the ledger knows when nil) in their current periods.
  func snapshot(scopes: [BudgetScope]?, wallMillis: Int64) async -> [BudgetSnapshot]
}
