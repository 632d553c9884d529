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
  /// The store that answers reservations right now (``StateBackend``); `.local` by default.
  var stateBackend: StateBackend { get }
}
