import Synchronization

/// The in-process ledger: exact under concurrency (one lock, integer amounts, no
/// I/O under it). Persistent ledgers wrap it and write through (see
/// `SQLiteBudgetLedger`); they seed it with ``seed(_:wallMillis:)`` after a restart.
public final class InMemoryBudgetLedger: BudgetLedger {
  struct Account: Sendable {
    var spent = MicroUSD.zero
    var reserved = MicroUSD.zero
    var limit = BudgetLimit()
    var key: String
    var window: BudgetWindow
  }
  struct State: Sendable {
    var periods: [BudgetWindow: BudgetPeriod] = [:]
    var accounts: [String: Account] = [:]
    var open: [UInt64: BudgetReservation] = [:]
    var nextID: UInt64 = 0
  }
  private let state = Mutex(State())
  /// The calendar periods are cut in.
  public let calendar: BudgetCalendar

  /// Creates an empty ledger counting in `calendar`'s time zone.
  public init(calendar: BudgetCalendar = .utc) { self.calendar = calendar }

  /// One account's spend to seed, from a persistent store.
  public struct SeedAccount: Sendable, Hashable {
    /// Scope key.
    public var key: String
    /// Window of the account.
    public var window: BudgetWindow
    /// Period label the spend belongs to.
    public var period: String
    /// Settled spend.
    public var spent: MicroUSD
    /// Creates a seed entry.
    public init(key: String, window: BudgetWindow, period: String, spent: MicroUSD) {
      self.key = key; self.window = window; self.period = period; self.spent = spent
    }
  }

  /// Adds persisted spend; entries of a period other than the current one are ignored.
  public func seed(_ accounts: [SeedAccount], wallMillis: Int64) {
    state.withLock { s in
      roll(&s, wallMillis: wallMillis)
      for a in accounts where s.periods[a.window]?.label == a.period {
        let name = "\(a.key)@\(a.window.rawValue)"
        s.accounts[name, default: Account(key: a.key, window: a.window)].spent += a.spent
      }
    }
  }

  /// The current period of each window (after moving forward to `wallMillis`).
  public func periods(wallMillis: Int64) -> [BudgetWindow: BudgetPeriod] {
    state.withLock { s in roll(&s, wallMillis: wallMillis); return s.periods }
  }

  /// Reservations not settled or released yet.
  public var openReservations: [BudgetReservation] { state.withLock { Array($0.open.values) } }

  /// Moves each window to the period of `wallMillis` — forward only: a wall clock
  /// stepped back across midnight must not wipe today's spend.
  private func roll(_ s: inout State, wallMillis: Int64) {
    for w in BudgetWindow.allCases {
      if let p = s.periods[w], wallMillis < p.endMillis { continue }
      let next = calendar.period(w, wallMillis: wallMillis)
      if let p = s.periods[w], next.endMillis <= p.endMillis { continue }
      s.periods[w] = next
      // Spend starts afresh; reservations in flight carry over (they still count).
      for (k, a) in s.accounts where a.window == w { s.accounts[k]?.spent = .zero }
    }
  }

  /// Synchronous ``reserve(_:scopes:requestID:wallMillis:)``.
  public func reserveNow(_ amount: MicroUSD, scopes: [BudgetScope], requestID: String, wallMillis: Int64) -> ReservationResult {
    let amount = max(.zero, amount)
    return state.withLock { s in
      roll(&s, wallMillis: wallMillis)
      for scope in scopes {
        let a = s.accounts[scope.account]
        let committed = (a?.spent ?? .zero) + (a?.reserved ?? .zero)
        if let hard = scope.limit.hard, committed + amount > hard {
          return .denied(scope: scope.account, remaining: max(.zero, hard - committed))
        }
      }
      var soft: [String] = []
      for scope in scopes {
        var a = s.accounts[scope.account] ?? Account(key: scope.key, window: scope.window)
        a.reserved += amount
        a.limit = scope.limit
        if let sl = scope.limit.soft, a.spent + a.reserved > sl { soft.append(scope.key) }
        s.accounts[scope.account] = a
      }
      s.nextID += 1
      let r = BudgetReservation(id: s.nextID, amount: amount, scopes: scopes, requestID: requestID)
      s.open[r.id] = r
      return .reserved(r, softExceeded: soft)
    }
  }

  /// Synchronous ``settle(_:actual:wallMillis:)``; also returns the period each scope was charged in.
  public func settleNow(_ r: BudgetReservation, actual: MicroUSD, wallMillis: Int64) -> (SettleResult, [SeedAccount]) {
    let actual = max(.zero, actual)
    return state.withLock { s in
      roll(&s, wallMillis: wallMillis)
      guard s.open.removeValue(forKey: r.id) != nil else {
        return (SettleResult(charged: .zero, overage: .zero, overCap: []), [])
      }
      var overCap: [String] = []
      var charges: [SeedAccount] = []
      for scope in r.scopes {
        var a = s.accounts[scope.account] ?? Account(key: scope.key, window: scope.window)
        a.reserved = max(.zero, a.reserved - r.amount)
        a.spent += actual
        if let h = a.limit.hard, a.spent > h, actual > r.amount { overCap.append(scope.account) }
        s.accounts[scope.account] = a
        charges.append(SeedAccount(key: scope.key, window: scope.window, period: s.periods[scope.window]?.label ?? "", spent: actual))
      }
      return (SettleResult(charged: actual, overage: max(.zero, actual - r.amount), overCap: overCap), charges)
    }
  }

  /// Synchronous ``release(_:)``; false when the reservation was not open.
  @discardableResult
  public func releaseNow(_ r: BudgetReservation) -> Bool {
    state.withLock { s in
      guard s.open.removeValue(forKey: r.id) != nil else { return false }
      for scope in r.scopes {
        guard var a = s.accounts[scope.account] else { continue }
        a.reserved = max(.zero, a.reserved - r.amount)
        s.accounts[scope.account] = a
      }
      return true
    }
  }

  /// Synchronous ``snapshot(scopes:wallMillis:)`` (for the metrics endpoint).
  public func snapshotNow(scopes: [BudgetScope]? = nil, wallMillis: Int64) -> [BudgetSnapshot] {
    state.withLock { s in
      roll(&s, wallMillis: wallMillis)
      func entry(_ a: Account, limit: BudgetLimit) -> BudgetSnapshot {
        BudgetSnapshot(scope: a.key, window: a.window.rawValue, period: s.periods[a.window]?.label ?? "",
                       spent: a.spent, reserved: a.reserved, limit: limit)
      }
      if let scopes {
        return scopes.map { sc in entry(s.accounts[sc.account] ?? Account(key: sc.key, window: sc.window), limit: sc.limit) }
      }
      return s.accounts.values.map { entry($0, limit: $0.limit) }.sorted { ($0.scope, $0.window) < ($1.scope, $1.window) }
    }
  }

  public func reserve(_ amount: MicroUSD, scopes: [BudgetScope], requestID: String, wallMillis: Int64) async -> ReservationResult {
    reserveNow(amount, scopes: scopes, requestID: requestID, wallMillis: wallMillis)
  }
  public func settle(_ reservation: BudgetReservation, actual: MicroUSD, wallMillis: Int64) async -> SettleResult {
    settleNow(reservation, actual: actual, wallMillis: wallMillis).0
  }
  public func release(_ reservation: BudgetReservation) async { releaseNow(reservation) }
  public func snapshot(scopes: [BudgetScope]?, wallMillis: Int64) async -> [BudgetSnapshot] {
    snapshotNow(scopes: scopes, wallMillis: wallMillis)
  }
}
