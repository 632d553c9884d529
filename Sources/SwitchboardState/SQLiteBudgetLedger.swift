import Foundation
import GRDB
import Logging
import Synchronization
import SwitchboardCore

/// The default persistent ledger: its own SQLite database (a file of its own, not
/// rows derived from decisions). Accounting decisions are made by an in-process
/// ``InMemoryBudgetLedger`` (exact under concurrency); every reservation, settle and
/// release is written through and committed before the call returns (concurrent
/// writes share one transaction, ``LedgerGroupCommit``):
///
/// - `budget_account(scope, window, period, spent_micro_usd)` — settled spend;
/// - `budget_reservation` — open reservations (a journal: a row lives from reserve
///   until settle or release);
/// - `budget_settlement`, `budget_release` — what each settle charged, and which
///   reservations were dropped (including those of a process that died).
///
/// Only a reservation on a limited scope (a soft or hard cap) is journaled. One that
/// draws on uncapped accounts alone (the route's own account always exists, so its
/// spend shows in health and metrics) can be denied by nothing, and its journal row
/// would only be released unread after a crash; writing it and deleting it again cost
/// every such request a commit (an fsync under `synchronous = FULL`) and two
/// statements. Its settle still writes the spend, through, before the call returns;
/// a settle or release that charges nothing to an unjournaled reservation writes
/// nothing. The statements are prepared once per connection (cached).
///
/// On open, reservations left by a dead process are released (moved to
/// `budget_release` with why `process_died`) and the current periods' spend is
/// loaded. Any failure to open, migrate or load throws ``LedgerStoreError`` — the
/// daemon refuses to start rather than silently resetting spend.
///
/// One daemon per ledger file (SQLite serialises writers; a fleet sharing a budget
/// needs the PostgreSQL ledger of a later issue).
public final class SQLiteBudgetLedger: BudgetLedger {
  /// The in-process accounting the store is written from.
  public let memory: InMemoryBudgetLedger
  /// What opening found.
  public let loadReport: LoadReport
  let db: any DatabaseWriter
  let logger: Logger
  private let commits: LedgerGroupCommit
  /// False for the in-memory ledger (`path` empty): nothing outlives the process,
  /// so no write is made (the accounting is ``memory`` alone).
  private let persistent: Bool
  private let failures = Atomic<UInt64>(0)

  /// What the ledger found when it opened.
  public struct LoadReport: Sendable, Hashable {
    /// Accounts of the current periods loaded.
    public var accounts: Int
    /// Reservations of a process that died, released.
    public var releasedReservations: Int
    /// Their total amount.
    public var releasedAmount: MicroUSD
  }

  /// Opens (creating and migrating if needed) the ledger at `path` (empty: in memory,
  /// no SQLite writes at all),
  /// releases dead reservations and loads the spend of the periods containing `wallMillis`.
  /// - Throws: ``LedgerStoreError`` naming the file and the cause.
  /// - Parameter fullSync: `PRAGMA synchronous = FULL` (default): a committed settle
  ///   survives a power loss. False: NORMAL — survives a process crash (kill -9), may
  ///   lose the last settles on a power loss; fewer fsyncs.
  public init(path: String, calendar: BudgetCalendar = .utc, wallMillis: Int64, fullSync: Bool = true, logger: Logger) throws {
    self.logger = logger
    self.persistent = !path.isEmpty
    self.memory = InMemoryBudgetLedger(calendar: calendar)
    var config = Configuration()
    config.label = "switchboard.ledger"
    config.busyMode = .timeout(5)
    do {
      if path.isEmpty {
        db = try DatabaseQueue(configuration: config)
      } else {
        let pool = try DatabasePool(path: path, configuration: config)
        try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = \(fullSync ? "FULL" : "NORMAL")") }
        db = pool
      }
      try LedgerSchema.migrator.migrate(db)
    } catch {
      throw LedgerStoreError(path: path, stage: "open", cause: "\(error)")
    }
    commits = LedgerGroupCommit(db: db)
    let periods = memory.periods(wallMillis: wallMillis)
    do {
      let (seed, released, amount) = try db.write { db -> ([InMemoryBudgetLedger.SeedAccount], Int, Int64) in
        let stale = try Row.fetchAll(db, sql: "SELECT request_id, amount_micro_usd FROM budget_reservation")
        var total: Int64 = 0
        for r in stale {
          let amount: Int64 = r[1]
          total += amount
          try db.execute(sql: "INSERT INTO budget_release (ts_ms, request_id, amount_micro_usd, why) VALUES (?, ?, ?, 'process_died')",
                         arguments: [wallMillis, r[0] as String, amount])
        }
        try db.execute(sql: "DELETE FROM budget_reservation")
        var seed: [InMemoryBudgetLedger.SeedAccount] = []
        for (w, p) in periods {
          let rows = try Row.fetchAll(db, sql: "SELECT scope, spent_micro_usd FROM budget_account WHERE window = ? AND period = ?",
                                      arguments: [w.rawValue, p.label])
          for row in rows {
            seed.append(.init(key: row[0], window: w, period: p.label, spent: MicroUSD(row[1] as Int64)))
          }
        }
        return (seed, stale.count, total)
      }
      memory.seed(seed, wallMillis: wallMillis)
      loadReport = LoadReport(accounts: seed.count, releasedReservations: released, releasedAmount: MicroUSD(amount))
    } catch {
      throw LedgerStoreError(path: path, stage: "load", cause: "\(error)")
    }
  }

  /// Writes that failed since open (logged; the in-memory accounting still holds them).
  public var writeFailures: UInt64 { failures.load(ordering: .relaxed) }

  /// Runs a write, committed with whatever else is pending (group commit), that a
  /// cancelled request cannot interrupt: the money was spent.
  private func write(_ what: String, _ body: @escaping @Sendable (Database) throws -> Void) async -> Bool {
    guard persistent else { return true }
    if let result = await commits.submit(body) {
      failures.add(1, ordering: .relaxed)
      logger.error("budget ledger write failed", metadata: ["ledger.op": "\(what)", "error": "\(type(of: result))"])
      return false
    }
    return true
  }

  /// Whether a reservation on `scopes` is journaled: some scope has a limit.
  static func journaled(_ scopes: [BudgetScope]) -> Bool { scopes.contains { !$0.limit.isUnlimited } }

  public func reserve(_ amount: MicroUSD, scopes: [BudgetScope], requestID: String, wallMillis: Int64) async -> ReservationResult {
    let result = memory.reserveNow(amount, scopes: scopes, requestID: requestID, wallMillis: wallMillis)
    guard case .reserved(let r, _) = result, Self.journaled(r.scopes) else { return result }
    let accounts = r.scopes.map(\.account).joined(separator: ",")
    let ok = await write("reserve") { db in
      try db.cachedStatement(sql: "INSERT OR REPLACE INTO budget_reservation (id, request_id, amount_micro_usd, accounts, ts_ms) VALUES (?, ?, ?, ?, ?)")
        .execute(arguments: [Int64(truncatingIfNeeded: r.id), requestID, r.amount.value, accounts, wallMillis])
    }
    if !ok {
      memory.releaseNow(r)
      return .unavailable("cannot record the reservation")
    }
    return result
  }

  public func settle(_ reservation: BudgetReservation, actual: MicroUSD, wallMillis: Int64) async -> SettleResult {
    let (result, charges) = memory.settleNow(reservation, actual: actual, wallMillis: wallMillis)
    let journaled = Self.journaled(reservation.scopes)
    guard journaled || charges.contains(where: { $0.spent > .zero }) else { return result }
    let accounts = reservation.scopes.map(\.account).joined(separator: ",")
    _ = await write("settle") { db in
      if journaled {
        try db.cachedStatement(sql: "DELETE FROM budget_reservation WHERE id = ?")
          .execute(arguments: [Int64(truncatingIfNeeded: reservation.id)])
      }
      let upsert = try db.cachedStatement(sql: """
        INSERT INTO budget_account (scope, window, period, spent_micro_usd, updated_ms) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT(scope, window, period) DO UPDATE SET spent_micro_usd = spent_micro_usd + excluded.spent_micro_usd,
          updated_ms = excluded.updated_ms
        """)
      for c in charges where c.spent > .zero {
        try upsert.execute(arguments: [c.key, c.window.rawValue, c.period, c.spent.value, wallMillis])
      }
      try db.cachedStatement(sql: "INSERT INTO budget_settlement (ts_ms, request_id, reserved_micro_usd, charged_micro_usd, accounts) VALUES (?, ?, ?, ?, ?)")
        .execute(arguments: [wallMillis, reservation.requestID, reservation.amount.value, result.charged.value, accounts])
    }
    return result
  }

  public func release(_ reservation: BudgetReservation) async {
    guard memory.releaseNow(reservation), Self.journaled(reservation.scopes) else { return }
    _ = await write("release") { db in
      try db.cachedStatement(sql: "DELETE FROM budget_reservation WHERE id = ?")
        .execute(arguments: [Int64(truncatingIfNeeded: reservation.id)])
      try db.cachedStatement(sql: "INSERT INTO budget_release (ts_ms, request_id, amount_micro_usd, why) VALUES (?, ?, ?, 'released')")
        .execute(arguments: [Int64(0), reservation.requestID, reservation.amount.value])
    }
  }

  public func snapshot(scopes: [BudgetScope]?, wallMillis: Int64) async -> [BudgetSnapshot] {
    memory.snapshotNow(scopes: scopes, wallMillis: wallMillis)
  }

  /// Settled spend of one account as stored (for tests and `switchboard` tooling).
  public func storedSpend(scope: String, window: BudgetWindow, period: String) async throws -> MicroUSD {
    let v = try await db.read { db in
      try Int64.fetchOne(db, sql: "SELECT spent_micro_usd FROM budget_account WHERE scope = ? AND window = ? AND period = ?",
                         arguments: [scope, window.rawValue, period])
    }
    return MicroUSD(v ?? 0)
  }

  /// Settlements as stored.
  public func storedSettlementCount() async throws -> Int {
    try await db.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM budget_settlement") ?? 0 }
  }

  /// Open reservations as stored.
  public func storedReservationCount() async throws -> Int {
    try await db.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM budget_reservation") ?? 0 }
  }
}

/// The ledger store could not be opened or loaded: the daemon must not start
/// (spend would silently reset).
public struct LedgerStoreError: Error, Sendable, CustomStringConvertible {
  /// The database file ("" = in memory).
  public var path: String
  /// `open` or `load`.
  public var stage: String
  /// The underlying error.
  public var cause: String
  public var description: String {
    "cannot \(stage) the budget ledger at \(path.isEmpty ? "(memory)" : path): \(cause)"
  }
}
