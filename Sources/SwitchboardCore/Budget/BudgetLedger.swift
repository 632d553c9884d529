import Synchronization

/// One budget a request draws on: a tenant's or a route's daily spend.
public struct BudgetScope: Hashable, Sendable {
  /// e.g. `tenant:acme@payments` or `route:payments`.
  public var key: String
  public var limit: BudgetLimit
  /// Creates a scope.
  public init(key: String, limit: BudgetLimit) { self.key = key; self.limit = limit }
}

/// A reservation held by one attempt until it settles.
public struct BudgetReservation: Sendable, Hashable {
  public var id: UInt64
  public var amount: Double
  public var scopes: [String]
  /// UTC day (days since the epoch) the reservation counts in.
  public var day: Int64
}

/// The outcome of a reservation request.
public enum ReservationResult: Sendable {
  /// Reserved; `softExceeded` lists scopes now over their soft cap.
  case reserved(BudgetReservation, softExceeded: [String])
  /// Refused: the scope whose hard cap it would cross, and what remains there.
  case denied(scope: String, remaining: Double)
}

/// Spend of one scope in the current window.
public struct BudgetSnapshot: Sendable, Hashable {
  public var scope: String
  public var window: String
  public var spent: Double
  public var reserved: Double
  public var limit: BudgetLimit
}

/// Reserve → settle accounting of spend against caps.
///
/// Each attempt reserves its worst-case cost before it starts and settles the
/// actual cost after, so concurrent requests cannot together cross a hard cap.
public protocol BudgetLedger: Sendable {
  /// Reserves `amount` USD in every scope, or refuses if any hard cap would be crossed.
  func reserve(_ amount: Double, scopes: [BudgetScope], wallMillis: Int64) -> ReservationResult
  /// Replaces the reservation with the actual cost.
  func settle(_ reservation: BudgetReservation, actual: Double)
  /// Whether a scope's hard cap is already reached (nothing more fits).
  func isExhausted(_ scope: BudgetScope, wallMillis: Int64) -> Bool
  /// What is left under a scope's hard cap right now (spent and reserved
  /// deducted); nil when it has no hard cap.
  func remaining(_ scope: BudgetScope, wallMillis: Int64) -> Double?
  /// Every scope seen in the current window.
  func snapshot(wallMillis: Int64) -> [BudgetSnapshot]
}

/// The in-process ledger: exact under concurrency (one lock, no I/O under it).
/// A persistent store seeds it with `load(spent:day:)` after a restart.
public final class InMemoryBudgetLedger: BudgetLedger {
  struct Account: Sendable { var spent = 0.0; var reserved = 0.0; var limit = BudgetLimit() }
  struct State: Sendable {
    var day: Int64 = -1
    var accounts: [String: Account] = [:]
    var nextID: UInt64 = 0
  }
  private let state = Mutex(State())

  /// Creates an empty ledger.
  public init() {}

  static func day(of wallMillis: Int64) -> Int64 { wallMillis >= 0 ? wallMillis / 86_400_000 : -1 }

  /// Seeds spend of the given UTC day (e.g. from the audit store).
  /// Seeding an older day than the ledger's is ignored; a newer one starts that day
  /// (reservations in flight are kept).
  public func load(spent: [String: Double], day: Int64) {
    state.withLock { s in
      if day < s.day { return }
      if day > s.day { startDay(&s, day) }
      for (k, v) in spent { s.accounts[k, default: Account()].spent += v }
    }
  }

  /// Moves to the day of `wallMillis` — forward only: a wall clock stepped back
  /// across midnight must not wipe today's spend (that would let a hard cap be
  /// crossed by clock jitter).
  private func roll(_ s: inout State, wallMillis: Int64) {
    let d = Self.day(of: wallMillis)
    if d > s.day { startDay(&s, d) }
  }

  private func startDay(_ s: inout State, _ d: Int64) {
    s.day = d
    // Outstanding reservations carry over; spend starts afresh each day.
    s.accounts = s.accounts.mapValues { Account(spent: 0, reserved: $0.reserved, limit: $0.limit) }
  }

  public func reserve(_ amount: Double, scopes: [BudgetScope], wallMillis: Int64) -> ReservationResult {
    state.withLock { s in
      roll(&s, wallMillis: wallMillis)
      for scope in scopes {
        let a = s.accounts[scope.key] ?? Account()
        if let hard = scope.limit.hard, a.spent + a.reserved + amount > hard + 1e-12 {
          return .denied(scope: scope.key, remaining: max(0, hard - a.spent - a.reserved))
        }
      }
      var soft: [String] = []
      for scope in scopes {
        var a = s.accounts[scope.key] ?? Account()
        a.reserved += amount
        a.limit = scope.limit
        if let sl = scope.limit.soft, a.spent + a.reserved > sl { soft.append(scope.key) }
        s.accounts[scope.key] = a
      }
      s.nextID += 1
      return .reserved(BudgetReservation(id: s.nextID, amount: amount, scopes: scopes.map(\.key), day: s.day), softExceeded: soft)
    }
  }

  public func settle(_ reservation: BudgetReservation, actual: Double) {
    state.withLock { s in
      for key in reservation.scopes {
        var a = s.accounts[key] ?? Account()
        a.reserved = max(0, a.reserved - reservation.amount)
        // A reservation from an earlier day was carried into this one (it counted
        // against today's cap while in flight), so its actual cost is charged here;
        // dropping it would leave money spent on no day at all.
        if reservation.day <= s.day { a.spent += actual }
        s.accounts[key] = a
      }
    }
  }

  public func remaining(_ scope: BudgetScope, wallMillis: Int64) -> Double? {
    guard let hard = scope.limit.hard else { return nil }
    return state.withLock { s in
      roll(&s, wallMillis: wallMillis)
      let a = s.accounts[scope.key] ?? Account()
      return max(0, hard - a.spent - a.reserved)
    }
  }

  public func isExhausted(_ scope: BudgetScope, wallMillis: Int64) -> Bool {
    guard let hard = scope.limit.hard else { return false }
    return state.withLock { s in
      roll(&s, wallMillis: wallMillis)
      let a = s.accounts[scope.key] ?? Account()
      return a.spent + a.reserved >= hard - 1e-12
    }
  }

  public func snapshot(wallMillis: Int64) -> [BudgetSnapshot] {
    state.withLock { s in
      roll(&s, wallMillis: wallMillis)
      return s.accounts.map { k, a in
        BudgetSnapshot(scope: k, window: "daily", spent: a.spent, reserved: a.reserved, limit: a.limit)
      }.sorted { $0.scope < $1.scope }
    }
  }
}
