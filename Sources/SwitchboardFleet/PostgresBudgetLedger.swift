import Foundation
import Logging
import PostgresNIO
import SwitchboardCore

/// The fleet's shared spend ledger on PostgreSQL. Every sidecar naming the same
/// database draws on the same accounts, so a hard cap holds across the fleet:
///
/// - **reserve** is one statement (`sb_reserve`): it locks every account the
///   attempt touches (tenant, route, route × tenant, daemon; daily and monthly)
///   in one global order, checks `spent + reserved + amount <= hard` on all of
///   them, and only then adds the amount to all and records the reservation —
///   all or nothing, whatever the interleaving across sidecars;
/// - **settle** (`sb_settle`) gives the reservation back and charges what was
///   consumed, once (a retried settle is a no-op);
/// - a reservation carries a **lease** (sidecar id + expiry): ``renewLeases(ids:nowMillis:)``
///   extends this sidecar's own while it lives, ``reapExpired(nowMillis:limit:)`` —
///   run by any sidecar — releases those of a sidecar that died (kill -9), and
///   their settled spend stays.
///
/// Every call is bounded by `timeout` (connect, statement and lock waits on the
/// server side too) and throws ``FleetStoreError`` on failure: what to do then
/// is ``FleetBudgetLedger``'s business (`on_unavailable`).
///
/// The client's ``run()`` must be running (``FleetService`` does it).
public final class PostgresBudgetLedger: Sendable {
  /// The connection pool.
  public let client: PostgresClient
  /// This sidecar's name on its leases.
  public let sidecarID: String
  /// The calendar budget periods are cut in (the same on every sidecar of a fleet).
  public let calendar: BudgetCalendar
  /// Lease length.
  public let leaseMs: Int64
  /// Bound of every call.
  public let timeout: Duration
  let logger: Logger

  /// Creates the ledger and its connection pool (not connected until ``client`` runs).
  public init(configuration: SharedStateConfiguration, sidecarID: String, calendar: BudgetCalendar, logger: Logger) {
    let c = configuration.connection
    var pg: PostgresClient.Configuration
    if let socket = c.unixSocketPath {
      pg = .init(unixSocketPath: socket, username: c.user, password: c.password?.value, database: c.database)
    } else {
      let tls: PostgresClient.Configuration.TLS
      switch c.tls {
      case .disable: tls = .disable
      case .prefer: tls = .prefer(.makeClientConfiguration())
      case .require: tls = .require(.makeClientConfiguration())
      }
      pg = .init(host: c.host ?? "127.0.0.1", port: c.port, username: c.user, password: c.password?.value, database: c.database, tls: tls)
    }
    let t = max(50, configuration.timeoutMs)
    pg.options.connectTimeout = .milliseconds(t)
    pg.options.maximumConnections = max(1, configuration.poolSize)
    pg.options.minimumConnections = configuration.poolSize > 1 ? 1 : 0
    pg.options.keepAliveBehavior = .init(frequency: .seconds(10))
    // The server enforces the same bound: no statement or lock wait outlives it.
    pg.options.additionalStartupParameters = [
      ("application_name", "switchboard"), ("statement_timeout", "\(t)"), ("lock_timeout", "\(t)"),
    ]
    if !configuration.synchronousCommit { pg.options.additionalStartupParameters.append(("synchronous_commit", "off")) }
    self.client = PostgresClient(configuration: pg, backgroundLogger: logger)
    self.sidecarID = sidecarID
    self.calendar = calendar
    self.leaseMs = max(100, configuration.leaseMs)
    self.timeout = .milliseconds(t)
    self.logger = logger
  }

  /// Runs `body` under the deadline, mapping driver errors to ``FleetStoreError``.
  @discardableResult
  func call<T: Sendable>(_ what: String, timeout: Duration? = nil,
                         _ body: @escaping @Sendable (PostgresClient) async throws -> T) async throws -> T {
    let client = self.client
    do {
      return try await withDeadline(timeout ?? self.timeout, what) { try await body(client) }
    } catch let e as FleetStoreError {
      throw e
    } catch let e as PSQLError {
      // The server's SQLSTATE at most: a PSQLError's text can quote the query or the server's address.
      throw FleetStoreError(.unavailable, "\(what): \(e.code)\(e.serverInfo?[.sqlState].map { " sqlstate \($0)" } ?? "")")
    } catch {
      throw FleetStoreError(.unavailable, "\(what): \(type(of: error))")
    }
  }

  /// Creates or migrates the schema (under an advisory lock: several sidecars
  /// starting at once migrate it exactly once). Throws `.schema` when the database
  /// holds a newer schema than this binary knows.
  public func migrate() async throws {
    let target = FleetSchema.migrations.count
    // A start-up step, not a request's: the first connection and the DDL get at
    // least 30 s (a request's `timeout_ms` of e.g. 2 s is too tight for a server
    // that is itself starting, or busy).
    try await call("migrate", timeout: max(timeout, .seconds(30))) { client in
      try await client.withConnection { conn in
        try await conn.query("SELECT pg_advisory_lock(\(FleetSchema.migrationLock))", logger: self.logger)
        do {
          try await conn.query("CREATE TABLE IF NOT EXISTS sb_schema_version (version integer NOT NULL, applied_ms bigint NOT NULL)",
                               logger: self.logger)
          var version = 0
          for try await v in try await conn.query("SELECT coalesce(max(version), 0) FROM sb_schema_version", logger: self.logger)
            .decode(Int.self) { version = v }
          if version > target {
            throw FleetStoreError(.schema, "the database schema (v\(version)) is newer than this binary's (v\(target))")
          }
          for v in version..<target {
            try await conn.query("BEGIN", logger: self.logger)
            do {
              for q in FleetSchema.migrations[v] { try await conn.query(q, logger: self.logger) }
              let ms = Int64(Date().timeIntervalSince1970 * 1000)
              try await conn.query("INSERT INTO sb_schema_version (version, applied_ms) VALUES (\(v + 1), \(ms))", logger: self.logger)
              try await conn.query("COMMIT", logger: self.logger)
            } catch {
              _ = try? await conn.query("ROLLBACK", logger: self.logger)
              throw error
            }
          }
        } catch {
          _ = try? await conn.query("SELECT pg_advisory_unlock(\(FleetSchema.migrationLock))", logger: self.logger)
          throw error
        }
        try await conn.query("SELECT pg_advisory_unlock(\(FleetSchema.migrationLock))", logger: self.logger)
      }
    }
  }

  /// The accounts of `scopes` in the periods containing `wallMillis`, one per account (duplicates dropped).
  func accounts(_ scopes: [BudgetScope], wallMillis: Int64) -> (scopes: [String], wins: [String], periods: [String], hard: [Int64], soft: [Int64], kept: [BudgetScope]) {
    var seen = Set<String>()
    var out: ([String], [String], [String], [Int64], [Int64], [BudgetScope]) = ([], [], [], [], [], [])
    for s in scopes where seen.insert(s.account).inserted {
      out.0.append(s.key); out.1.append(s.window.rawValue)
      out.2.append(calendar.period(s.window, wallMillis: wallMillis).label)
      out.3.append(s.limit.hard?.value ?? -1); out.4.append(s.limit.soft?.value ?? -1)
      out.5.append(s)
    }
    return out
  }

  /// Reserves `amount` in every scope (one atomic statement), or says which cap refused it.
  public func reserve(_ amount: MicroUSD, scopes: [BudgetScope], requestID: String, wallMillis: Int64) async throws -> ReservationResult {
    let amount = max(.zero, amount)
    let a = accounts(scopes, wallMillis: wallMillis)
    let sid = sidecarID, lease = leaseMs
    let row = try await call("reserve") { client -> (Int64?, Int32, Int64, [String]) in
      let rows = try await client.query("""
        SELECT reservation_id, denied, remaining, soft_exceeded FROM sb_reserve(\(requestID), \(sid), \(amount.value),
          \(a.scopes), \(a.wins), \(a.periods), \(a.hard), \(a.soft), \(wallMillis), \(lease))
        """, logger: self.logger)
      for try await r in rows.decode((Int64?, Int32, Int64, [String]).self) { return r }
      throw FleetStoreError(.unavailable, "reserve: no row")
    }
    if let id = row.0 {
      var r = BudgetReservation(id: UInt64(bitPattern: id), amount: amount, scopes: a.kept, requestID: requestID)
      r.backend = .postgres
      return .reserved(r, softExceeded: row.3)
    }
    let i = Int(row.1) - 1
    let account = a.kept.indices.contains(i) ? a.kept[i].account : "?"
    return .denied(scope: account, remaining: MicroUSD(row.2))
  }

  /// Settles `reservation` with `actual` charged to the current periods. Idempotent:
  /// a settle repeated after a timeout charges nothing twice.
  public func settle(_ reservation: BudgetReservation, actual: MicroUSD, wallMillis: Int64) async throws -> SettleResult {
    let actual = max(.zero, actual)
    let periods = accounts(reservation.scopes, wallMillis: wallMillis).periods
    let id = Int64(bitPattern: reservation.id)
    let row = try await call("settle") { client -> (Bool, [String]) in
      let rows = try await client.query("SELECT applied, over_cap FROM sb_settle(\(id), \(actual.value), \(periods), \(wallMillis))",
                                        logger: self.logger)
      for try await r in rows.decode((Bool, [String]).self) { return r }
      throw FleetStoreError(.unavailable, "settle: no row")
    }
    guard row.0 else { return SettleResult(charged: .zero, overage: .zero, overCap: []) }
    return SettleResult(charged: actual, overage: max(.zero, actual - reservation.amount), overCap: row.1)
  }

  /// Drops an open reservation without charging; false when it was not open.
  @discardableResult
  public func release(_ reservation: BudgetReservation, wallMillis: Int64) async throws -> Bool {
    let id = Int64(bitPattern: reservation.id)
    return try await call("release") { client in
      for try await r in try await client.query("SELECT sb_release(\(id), \(wallMillis))", logger: self.logger).decode(Bool.self) {
        return r
      }
      return false
    }
  }

  /// Charges spend made without a reservation here (the local fallback's), once per `key`.
  @discardableResult
  public func charge(key: String, requestID: String, amount: MicroUSD, scopes: [BudgetScope], periods: [String], wallMillis: Int64) async throws -> Bool {
    var seen = Set<String>()
    var k: [String] = [], w: [String] = [], pe: [String] = []
    for (s, p) in zip(scopes, periods) where seen.insert(s.account).inserted {
      k.append(s.key); w.append(s.window.rawValue); pe.append(p)
    }
    let keys = k, wins = w, per = pe, sid = sidecarID
    return try await call("charge") { client in
      for try await r in try await client.query("""
        SELECT sb_charge(\(key), \(sid), \(requestID), \(amount.value), \(keys), \(wins), \(per), \(wallMillis))
        """, logger: self.logger).decode(Bool.self) { return r }
      return false
    }
  }

  /// Releases reservations whose lease expired before `nowMillis` (any sidecar's), at most `limit`.
  public func reapExpired(nowMillis: Int64, limit: Int = 500) async throws -> (released: Int, amount: MicroUSD) {
    let lim = Int32(clamping: limit)
    return try await call("reap") { client in
      for try await (n, a) in try await client.query("SELECT released, amount FROM sb_reap(\(nowMillis), \(lim))", logger: self.logger)
        .decode((Int32, Int64).self) { return (Int(n), MicroUSD(a)) }
      return (0, .zero)
    }
  }

  /// Extends the leases of this sidecar's open reservations `ids` to `nowMillis + lease`
  /// (an expired one stays expired).
  @discardableResult
  public func renewLeases(ids: [Int64], nowMillis: Int64) async throws -> Int {
    let sid = sidecarID, until = nowMillis + leaseMs
    return try await call("renew") { client in
      for try await n in try await client.query("""
        WITH u AS (UPDATE sb_budget_reservation SET lease_expires_ms = \(until)
          WHERE id = ANY(\(ids)) AND sidecar_id = \(sid) AND status = 'open' RETURNING 1) SELECT count(*)::bigint FROM u
        """, logger: self.logger).decode(Int64.self) { return Int(n) }
      return 0
    }
  }

  /// Spend and open reservations of every account in the periods containing `wallMillis`.
  public func snapshot(wallMillis: Int64) async throws -> [BudgetSnapshot] {
    let d = calendar.period(.daily, wallMillis: wallMillis).label, m = calendar.period(.monthly, wallMillis: wallMillis).label
    return try await call("snapshot") { client in
      var out: [BudgetSnapshot] = []
      let rows = try await client.query("""
        SELECT scope, win, period, spent, reserved, hard_cap, soft_cap FROM sb_budget_account
          WHERE (win = 'daily' AND period = \(d)) OR (win = 'monthly' AND period = \(m)) ORDER BY scope, win
        """, logger: self.logger)
      for try await (scope, win, period, spent, reserved, hard, soft) in rows.decode((String, String, String, Int64, Int64, Int64?, Int64?).self) {
        out.append(BudgetSnapshot(scope: scope, window: win, period: period, spent: MicroUSD(spent), reserved: MicroUSD(reserved),
                                  limit: BudgetLimit(soft: soft.map(MicroUSD.init), hard: hard.map(MicroUSD.init))))
      }
      return out
    }
  }

  /// Open reservations (all sidecars', or `sidecar`'s) as stored: for tests and operators.
  public func openReservationCount(sidecar: String? = nil) async throws -> Int {
    try await call("count") { client in
      let rows: PostgresRowSequence
      if let sidecar {
        rows = try await client.query("SELECT count(*)::bigint FROM sb_budget_reservation WHERE status = 'open' AND sidecar_id = \(sidecar)", logger: self.logger)
      } else {
        rows = try await client.query("SELECT count(*)::bigint FROM sb_budget_reservation WHERE status = 'open'", logger: self.logger)
      }
      for try await n in rows.decode(Int64.self) { return Int(n) }
      return 0
    }
  }

  /// A cheap round trip: is the database there?
  public func ping() async throws {
    try await call("ping") { client in _ = try await client.query("SELECT 1", logger: self.logger).collect() }
  }

  /// Deletes closed reservations and pushed charges older than `olderThanMillis` (journal retention).
  public func prune(olderThanMillis: Int64) async throws {
    try await call("prune") { client in
      try await client.query("DELETE FROM sb_budget_reservation WHERE status <> 'open' AND closed_ms < \(olderThanMillis)", logger: self.logger)
      try await client.query("DELETE FROM sb_budget_charge WHERE ts_ms < \(olderThanMillis)", logger: self.logger)
    }
  }
}
