import Logging
import Synchronization
import SwitchboardCore

/// The daemon's ledger in a fleet: the shared ``PostgresBudgetLedger`` while the
/// database answers, and `shared_state.on_unavailable` when it does not:
///
/// - `fail_closed`: reservations are refused at once with reason
///   `shared_state_unavailable` (no request waits for a dead database longer than
///   one `timeout_ms`, and after the first failure not at all until a probe
///   sees the database again);
/// - `local`: reservations go to a local ledger whose caps are `local_share` of
///   each configured cap, counted per budget period across every outage of that
///   period — so a sidecar's overshoot is bounded by its share, never unbounded.
///   Local settles are queued and pushed to the shared ledger (`sb_charge`, once
///   per charge) when it returns.
///
/// A settle that cannot reach the database is queued and retried (the money was
/// spent); a release that cannot is left to the lease. ``maintain(nowMillis:)``
/// (run by ``FleetService``) probes, reconciles, renews this sidecar's leases,
/// reaps expired ones and refreshes the budget view the planner reads
/// (``snapshot(scopes:wallMillis:)`` never waits for the database).
public final class FleetBudgetLedger: BudgetLedger {
  /// The shared store.
  public let shared: PostgresBudgetLedger
  /// The bounded local ledger of `on_unavailable: local`.
  public let local: InMemoryBudgetLedger
  /// The policy.
  public let onUnavailable: SharedStateConfiguration.OnUnavailable
  /// The fraction of each cap the local ledger may spend.
  public let localShare: Double
  let logger: Logger
  let wallClock: @Sendable () -> Int64

  struct PendingSettle: Sendable { var reservation: BudgetReservation; var actual: MicroUSD; var wallMillis: Int64 }
  struct PendingCharge: Sendable {
    var key: String; var requestID: String; var amount: MicroUSD; var scopes: [BudgetScope]; var periods: [String]; var wallMillis: Int64
  }
  struct State: Sendable {
    var available = false
    var migrated = false
    var settles: [PendingSettle] = []
    var charges: [PendingCharge] = []
    var view: [String: BudgetSnapshot] = [:]
    var failures: UInt64 = 0
    var fallbackReservations: UInt64 = 0
    /// Reservations this process holds in the shared ledger: the only ones it renews
    /// (one whose reserve timed out after committing is left to expire).
    var held: Set<Int64> = []
  }
  private let state = Mutex(State())

  /// Creates the fleet ledger over `shared`. Nothing is asked of the database
  /// until ``start()`` (or the first maintenance pass).
  public init(shared: PostgresBudgetLedger, onUnavailable: SharedStateConfiguration.OnUnavailable, localShare: Double,
              wallClock: @escaping @Sendable () -> Int64 = { SystemClock().wallMillis() }, logger: Logger) {
    self.shared = shared
    self.wallClock = wallClock
    self.local = InMemoryBudgetLedger(calendar: shared.calendar)
    self.onUnavailable = onUnavailable
    self.localShare = min(1, max(0, localShare))
    self.logger = logger
  }

  /// Migrates the schema and loads the budget view; false (logged) when the
  /// database cannot be reached — the sidecar then serves per `on_unavailable`
  /// and retries on every maintenance pass.
  @discardableResult
  public func start(nowMillis: Int64) async -> Bool {
    await probe(nowMillis: nowMillis)
  }

  /// Whether the shared ledger answered the last call.
  public var isAvailable: Bool { state.withLock { $0.available } }
  /// Settles and local charges not yet written to the shared ledger.
  public var pendingWrites: Int { state.withLock { $0.settles.count + $0.charges.count } }
  /// Database calls that failed since start.
  public var failureCount: UInt64 { state.withLock { $0.failures } }

  public var stateBackend: StateBackend {
    if isAvailable { return .postgres }
    return onUnavailable == .local ? .localFallback : .postgres
  }

  private func markDown(_ error: any Error, _ what: String) {
    let wasUp = state.withLock { s -> Bool in
      let w = s.available
      s.available = false
      s.failures += 1
      return w
    }
    if wasUp {
      logger.error("shared state unreachable", metadata: [
        "fleet.op": "\(what)", "error": "\((error as? FleetStoreError)?.description ?? "\(type(of: error))")",
        "fleet.on_unavailable": "\(onUnavailable.rawValue)"])
    }
  }

  /// The scopes with every cap cut to this sidecar's share.
  func shareScopes(_ scopes: [BudgetScope]) -> [BudgetScope] {
    scopes.map { s in
      var s = s
      func cut(_ m: MicroUSD?) -> MicroUSD? { m.map { MicroUSD(Int64((Double($0.value) * localShare).rounded(.down))) } }
      s.limit = BudgetLimit(soft: cut(s.limit.soft), hard: cut(s.limit.hard))
      return s
    }
  }

  private func reserveLocally(_ amount: MicroUSD, scopes: [BudgetScope], requestID: String, wallMillis: Int64) -> ReservationResult {
    switch local.reserveNow(amount, scopes: shareScopes(scopes), requestID: requestID, wallMillis: wallMillis) {
    case .reserved(var r, let soft):
      r.backend = .localFallback
      state.withLock { $0.fallbackReservations += 1 }
      return .reserved(r, softExceeded: soft)
    case let other: return other
    }
  }

  public func reserve(_ amount: MicroUSD, scopes: [BudgetScope], requestID: String, wallMillis: Int64) async -> ReservationResult {
    if isAvailable {
      do {
        let result = try await shared.reserve(amount, scopes: scopes, requestID: requestID, wallMillis: wallMillis)
        if case .reserved(let r, _) = result { _ = state.withLock { $0.held.insert(Int64(bitPattern: r.id)) } }
        return result
      } catch {
        markDown(error, "reserve")
      }
    }
    switch onUnavailable {
    case .failClosed: return .sharedStateUnavailable
    case .local: return reserveLocally(amount, scopes: scopes, requestID: requestID, wallMillis: wallMillis)
    }
  }

  public func settle(_ reservation: BudgetReservation, actual: MicroUSD, wallMillis: Int64) async -> SettleResult {
    if reservation.backend == .localFallback {
      let (result, charges) = local.settleNow(reservation, actual: actual, wallMillis: wallMillis)
      if result.charged > .zero {
        let pending = PendingCharge(key: "\(shared.sidecarID)/\(reservation.id)", requestID: reservation.requestID, amount: result.charged,
                                    scopes: reservation.scopes, periods: charges.map(\.period), wallMillis: wallMillis)
        state.withLock { $0.charges.append(pending) }
      }
      return result
    }
    _ = state.withLock { $0.held.remove(Int64(bitPattern: reservation.id)) }
    do {
      return try await shared.settle(reservation, actual: actual, wallMillis: wallMillis)
    } catch {
      markDown(error, "settle")
      state.withLock { $0.settles.append(PendingSettle(reservation: reservation, actual: actual, wallMillis: wallMillis)) }
      let actual = max(.zero, actual)
      return SettleResult(charged: actual, overage: max(.zero, actual - reservation.amount), overCap: [])
    }
  }

  public func release(_ reservation: BudgetReservation) async {
    if reservation.backend == .localFallback { local.releaseNow(reservation); return }
    _ = state.withLock { $0.held.remove(Int64(bitPattern: reservation.id)) }
    do {
      try await shared.release(reservation, wallMillis: wallClock())
    } catch {
      // The lease expires and any sidecar gives the reservation back.
      markDown(error, "release")
    }
  }

  public func snapshot(scopes: [BudgetScope]?, wallMillis: Int64) async -> [BudgetSnapshot] {
    snapshotNow(scopes: scopes, wallMillis: wallMillis)
  }

  /// The budget view without waiting for the database: the shared figures of the
  /// last maintenance pass (plus nothing newer), or the local share while the
  /// database is down under `on_unavailable: local`.
  public func snapshotNow(scopes: [BudgetScope]? = nil, wallMillis: Int64) -> [BudgetSnapshot] {
    let (up, view) = state.withLock { ($0.available, $0.view) }
    if !up && onUnavailable == .local {
      return local.snapshotNow(scopes: scopes.map(shareScopes), wallMillis: wallMillis)
    }
    guard let scopes else { return view.values.sorted { ($0.scope, $0.window) < ($1.scope, $1.window) } }
    return scopes.map { s in
      var e = view[s.account] ?? BudgetSnapshot(scope: s.key, window: s.window.rawValue,
                                               period: shared.calendar.period(s.window, wallMillis: wallMillis).label,
                                               spent: .zero, reserved: .zero, limit: s.limit)
      e.limit = s.limit
      return e
    }
  }

  /// Checks the database and, when it answers, migrates (once) and flushes queued writes.
  @discardableResult
  func probe(nowMillis: Int64) async -> Bool {
    do {
      if !state.withLock({ $0.migrated }) {
        // Reachable first, within `timeout_ms`; only then the migration's longer bound.
        try await shared.ping()
        try await shared.migrate()
        state.withLock { $0.migrated = true }
      } else {
        try await shared.ping()
      }
    } catch {
      markDown(error, "probe")
      return false
    }
    await flush()
    let wasDown = state.withLock { s -> Bool in let w = !s.available; s.available = true; return w }
    if wasDown { logger.notice("shared state available", metadata: ["fleet.pending_writes": "\(pendingWrites)"]) }
    return true
  }

  /// Pushes queued settles and local-fallback charges (each idempotent); the daemon
  /// calls it once more after draining, before the pool closes.
  public func flush() async {
    let (settles, charges) = state.withLock { s in
      let out = (s.settles, s.charges)
      s.settles = []; s.charges = []
      return out
    }
    var failedSettles: [PendingSettle] = [], failedCharges: [PendingCharge] = []
    for p in settles {
      do { _ = try await shared.settle(p.reservation, actual: p.actual, wallMillis: p.wallMillis) } catch { failedSettles.append(p) }
    }
    for c in charges {
      do {
        try await shared.charge(key: c.key, requestID: c.requestID, amount: c.amount, scopes: c.scopes, periods: c.periods, wallMillis: c.wallMillis)
      } catch { failedCharges.append(c) }
    }
    if !failedSettles.isEmpty || !failedCharges.isEmpty {
      state.withLock { s in s.settles.insert(contentsOf: failedSettles, at: 0); s.charges.insert(contentsOf: failedCharges, at: 0) }
    }
  }

  /// One maintenance pass: probe when down (and reconcile), renew own leases, reap
  /// expired ones (any sidecar's), refresh the budget view.
  public func maintain(nowMillis: Int64) async {
    if !isAvailable || pendingWrites > 0 {
      guard await probe(nowMillis: nowMillis) else { return }
    }
    do {
      let held = state.withLock { Array($0.held) }
      if !held.isEmpty { try await shared.renewLeases(ids: held, nowMillis: nowMillis) }
      let (n, amount) = try await shared.reapExpired(nowMillis: nowMillis)
      if n > 0 {
        logger.notice("released reservations whose lease expired", metadata: ["fleet.released": "\(n)", "fleet.released_usd": "\(amount)"])
      }
      let snap = try await shared.snapshot(wallMillis: nowMillis)
      state.withLock { s in
        s.view = Dictionary(snap.map { ("\($0.scope)@\($0.window)", $0) }, uniquingKeysWith: { a, _ in a })
      }
    } catch {
      markDown(error, "maintain")
    }
  }
}
