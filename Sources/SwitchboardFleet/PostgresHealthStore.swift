import Logging
import PostgresNIO
import Synchronization
import SwitchboardCore

/// The fleet's shared circuits on PostgreSQL (table `sb_circuit`, one row per
/// provider, model and key fingerprint), behind the core's ``SharedHealthStore`` seam:
///
/// - decisions never wait for it: the ``HealthBoard`` reads its local copy, which
///   ``refresh()`` (every `maintenance_ms`, run by ``FleetService``) replaces with the
///   fleet's rows — the staleness bound;
/// - state changes (opened, closed by a probe, probe given back, Retry-After) are
///   queued by ``publish(_:_:)`` and written in order by ``drain()``, one upsert each;
/// - the half-open probe is a lease only one sidecar of the fleet holds:
///   ``acquireProbe(_:wallMillis:)`` is one conditional `UPDATE … WHERE` the fleet's
///   window has passed `AND (probe_holder IS NULL OR` its lease expired`) RETURNING`
///   (row locks serialize racers, and a waiting update re-checks the condition on
///   the winner's row), so of any number of sidecars racing exactly one gets it;
/// - every call has the ledger's timeout; while the database does not answer the
///   store says ``ProbeLease/local`` at once (no call is even tried until a refresh
///   succeeds) and drops its writes, so health is local-only, as without a fleet,
///   and a log line says so.
public final class PostgresHealthStore: SharedHealthStore, Sendable {
  /// The ledger whose pool, sidecar id and timeout it uses.
  public let shared: PostgresBudgetLedger
  /// How long a probe lease lasts when its holder never reports (it died).
  public let probeLeaseMs: Int64
  let logger: Logger
  private let available = Atomic<Bool>(true)
  private let queue: AsyncStream<(CircuitKey, SharedCircuitChange)>
  private let input: AsyncStream<(CircuitKey, SharedCircuitChange)>.Continuation
  private let board = Mutex<(HealthBoard, any RouterClock)?>(nil)

  /// Creates the store on `shared`'s pool.
  public init(shared: PostgresBudgetLedger, probeLeaseMs: Int64, logger: Logger) {
    self.shared = shared
    self.probeLeaseMs = max(100, probeLeaseMs)
    self.logger = logger
    (queue, input) = AsyncStream.makeStream(of: (CircuitKey, SharedCircuitChange).self, bufferingPolicy: .bufferingNewest(4096))
  }

  /// Makes `board` share its circuits through this store; ``refresh()`` updates it.
  public func attach(_ board: HealthBoard, clock: any RouterClock) {
    self.board.withLock { $0 = (board, clock) }
    board.share(through: self, clock: clock)
  }

  /// Whether the last database call answered.
  public var isAvailable: Bool { available.load(ordering: .relaxed) }

  private func failed(_ error: any Error) {
    if available.exchange(false, ordering: .relaxed) {
      logger.error("shared health unreachable: circuits are local-only until the database answers",
                   metadata: ["error": "\((error as? FleetStoreError)?.description ?? "\(type(of: error))")"])
    }
  }

  private func answered() {
    if !available.exchange(true, ordering: .relaxed) { logger.notice("shared health available: circuits are shared again") }
  }

  public func publish(_ key: CircuitKey, _ change: SharedCircuitChange) {
    guard isAvailable else { return }
    input.yield((key, change))
  }

  /// Writes the queued changes in order until the store is finished; run by ``FleetService``.
  public func drain() async {
    for await (key, change) in queue {
      guard isAvailable else { continue }
      do { try await write(key, change) } catch { failed(error) }
    }
  }

  /// Stops ``drain()``.
  public func finish() { input.finish() }

  /// Writes one change.
  func write(_ key: CircuitKey, _ change: SharedCircuitChange) async throws {
    let p = key.provider, m = key.model, k = key.keyFingerprint, me = shared.sidecarID
    try await shared.call("health") { client in
      switch change {
      case .opened(let until, let cooldown, let openings, let nb, let at):
        let n = Int32(clamping: openings)
        // Several sidecars opening at once merge: the later end and the higher count
        // win. This sidecar's probe lease ends; another's is left to expire or report.
        try await client.query("""
          INSERT INTO sb_circuit AS c (provider, model, key_fp, state, open_until_ms, cooldown_ms, openings, not_before_ms, updated_ms)
            VALUES (\(p), \(m), \(k), 'open', \(until), \(cooldown), \(n), \(nb), \(at))
          ON CONFLICT (provider, model, key_fp) DO UPDATE SET
            open_until_ms = CASE WHEN c.state = 'open' THEN greatest(c.open_until_ms, excluded.open_until_ms) ELSE excluded.open_until_ms END,
            cooldown_ms = CASE WHEN c.state = 'open' AND c.open_until_ms > excluded.open_until_ms THEN c.cooldown_ms ELSE excluded.cooldown_ms END,
            openings = CASE WHEN c.state = 'open' THEN greatest(c.openings, excluded.openings) ELSE excluded.openings END,
            not_before_ms = greatest(c.not_before_ms, excluded.not_before_ms),
            probe_holder = CASE WHEN c.probe_holder = \(me) THEN NULL ELSE c.probe_holder END,
            probe_expires_ms = CASE WHEN c.probe_holder = \(me) THEN NULL ELSE c.probe_expires_ms END,
            state = 'open', updated_ms = greatest(c.updated_ms, excluded.updated_ms)
          """, logger: self.logger)
      case .closed(let at):
        // A probe's success closes the fleet's circuit unless another sidecar holds a live lease.
        try await client.query("""
          UPDATE sb_circuit SET state = 'closed', open_until_ms = 0, cooldown_ms = 0, openings = 0,
              probe_holder = NULL, probe_expires_ms = NULL, updated_ms = greatest(updated_ms, \(at))
            WHERE provider = \(p) AND model = \(m) AND key_fp = \(k)
              AND (probe_holder IS NULL OR probe_holder = \(me) OR probe_expires_ms < \(at))
          """, logger: self.logger)
      case .probeReleased(let at):
        try await client.query("""
          UPDATE sb_circuit SET probe_holder = NULL, probe_expires_ms = NULL, updated_ms = greatest(updated_ms, \(at))
            WHERE provider = \(p) AND model = \(m) AND key_fp = \(k) AND probe_holder = \(me)
          """, logger: self.logger)
      case .notBefore(let nb, let at):
        try await client.query("""
          INSERT INTO sb_circuit AS c (provider, model, key_fp, not_before_ms, updated_ms) VALUES (\(p), \(m), \(k), \(nb), \(at))
          ON CONFLICT (provider, model, key_fp) DO UPDATE SET not_before_ms = greatest(c.not_before_ms, excluded.not_before_ms),
            updated_ms = greatest(c.updated_ms, excluded.updated_ms)
          """, logger: self.logger)
      }
    }
  }

  public func acquireProbe(_ key: CircuitKey, wallMillis: Int64) async -> ProbeLease {
    guard isAvailable else { return .local }
    do {
      let r = try await tryAcquireProbe(key, wallMillis: wallMillis)
      answered()
      return r
    } catch {
      failed(error)
      return .local
    }
  }

  /// One conditional update: the lease goes to this sidecar only if the fleet's
  /// window and not-before have passed and nobody else holds a live lease.
  func tryAcquireProbe(_ key: CircuitKey, wallMillis now: Int64) async throws -> ProbeLease {
    let p = key.provider, m = key.model, k = key.keyFingerprint, me = shared.sidecarID, until = now + probeLeaseMs
    typealias Row = (String, Int64, Int64?, String?, Int64?)
    let row: (Bool, Row?) = try await shared.call("probe") { client in
      for try await _ in try await client.query("""
        UPDATE sb_circuit SET probe_holder = \(me), probe_expires_ms = \(until), updated_ms = greatest(updated_ms, \(now))
          WHERE provider = \(p) AND model = \(m) AND key_fp = \(k) AND state = 'open' AND open_until_ms <= \(now)
            AND coalesce(not_before_ms, 0) <= \(now)
            AND (probe_holder IS NULL OR probe_holder = \(me) OR probe_expires_ms < \(now))
          RETURNING 1
        """, logger: self.logger) { return (true, nil) }
      // Refused: a second statement (a fresh snapshot, so it sees the winner that
      // made the update above wait and then refuse) says until when.
      for try await r in try await client.query("""
        SELECT state, open_until_ms, not_before_ms, probe_holder, probe_expires_ms FROM sb_circuit
          WHERE provider = \(p) AND model = \(m) AND key_fp = \(k)
        """, logger: self.logger).decode(Row.self) { return (false, r) }
      // No row: the circuit opened here, but no opening has reached the database yet
      // (its write is still queued — seen on a loaded machine, where every sidecar
      // then probed on its own). The first sidecar to ask claims the row with the
      // lease; the others' inserts do nothing and they read the winner's lease.
      for try await _ in try await client.query("""
        INSERT INTO sb_circuit (provider, model, key_fp, state, open_until_ms, probe_holder, probe_expires_ms, updated_ms)
          VALUES (\(p), \(m), \(k), 'open', \(now), \(me), \(until), \(now))
          ON CONFLICT (provider, model, key_fp) DO NOTHING
          RETURNING 1
        """, logger: self.logger) { return (true, nil) }
      for try await r in try await client.query("""
        SELECT state, open_until_ms, not_before_ms, probe_holder, probe_expires_ms FROM sb_circuit
          WHERE provider = \(p) AND model = \(m) AND key_fp = \(k)
        """, logger: self.logger).decode(Row.self) { return (false, r) }
      return (false, nil)
    }
    if row.0 { return .granted }
    // The fleet never saw this circuit open (its opening did not reach the database): local decides.
    guard let (state, openUntil, notBefore, holder, expires) = row.1 else { return .local }
    var end = Int64.min
    if let nb = notBefore, nb > now { end = nb }
    if state == "open" {
      if openUntil > now { end = max(end, openUntil) }
      if let holder, holder != me, let expires, expires >= now { end = max(end, expires) }
      // A lease given back in between: refused for now, the next request asks again.
      return .refused(untilWallMs: max(end, now))
    }
    // Closed in the fleet (another sidecar's probe succeeded): local decides.
    return end == .min ? .local : .refused(untilWallMs: end)
  }

  /// Every circuit the fleet knows, as this sidecar sees it (another's live probe lease as a block).
  public func circuits(wallMillis now: Int64) async throws -> [CircuitKey: SharedCircuit] {
    let me = shared.sidecarID
    return try await shared.call("health refresh") { client in
      var out: [CircuitKey: SharedCircuit] = [:]
      let rows = try await client.query("""
        SELECT provider, model, key_fp, state, open_until_ms, cooldown_ms, openings, not_before_ms, probe_holder, probe_expires_ms, updated_ms
          FROM sb_circuit
        """, logger: self.logger)
      for try await (p, m, k, state, until, cd, n, nb, holder, expires, updated) in rows
        .decode((String, String, String, String, Int64, Int64, Int32, Int64?, String?, Int64?, Int64).self) {
        let elsewhere: Int64? = (holder != nil && holder != me && (expires ?? 0) >= now) ? expires : nil
        out[CircuitKey(provider: p, model: m, keyFingerprint: k)] = SharedCircuit(
          isOpen: state == "open", openUntilWallMs: until, cooldownMs: cd, openings: Int(n), notBeforeWallMs: nb,
          probeHeldElsewhereUntilWallMs: elsewhere, updatedWallMs: updated)
      }
      return out
    }
  }

  /// Extends this sidecar's probe leases of `keys` (probes still in flight) to `nowMillis + probeLeaseMs`.
  func renewProbes(_ keys: [CircuitKey], nowMillis: Int64) async throws {
    guard !keys.isEmpty else { return }
    let p = keys.map(\.provider), m = keys.map(\.model), k = keys.map(\.keyFingerprint), me = shared.sidecarID
    let until = nowMillis + probeLeaseMs
    try await shared.call("probe renew") { client in
      try await client.query("""
        UPDATE sb_circuit c SET probe_expires_ms = \(until) FROM unnest(\(p), \(m), \(k)) AS u(p, m, k)
          WHERE c.provider = u.p AND c.model = u.m AND c.key_fp = u.k AND c.probe_holder = \(me)
        """, logger: self.logger)
    }
  }

  /// Reads the fleet's circuits into the attached board (one maintenance pass),
  /// after renewing the leases of the probes this sidecar still has in flight (a
  /// probe longer than the lease keeps it). A failure leaves the board local-only;
  /// the next success shares again.
  public func refresh() async {
    guard let (board, clock) = self.board.withLock({ $0 }) else { return }
    do {
      try await renewProbes(board.probesInFlight(), nowMillis: clock.wallMillis())
      let fleet = try await circuits(wallMillis: clock.wallMillis())
      answered()
      board.adopt(fleet, now: clock.now(), wallMillis: clock.wallMillis())
    } catch {
      failed(error)
    }
  }
}
