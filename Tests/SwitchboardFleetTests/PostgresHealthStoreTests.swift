import Logging
import Synchronization
import Testing
import SwitchboardCore
import SwitchboardTestKit
@testable import SwitchboardFleet

/// Shared health against a real PostgreSQL (a throwaway server per test): the
/// fleet-wide probe lease and the open circuit one sidecar publishes and another
/// sees. Skipped, with the reason printed, where no server can be started.
@Suite(.enabled(if: PostgresTestServer.isAvailable, "needs a PostgreSQL server (apt-get install -y postgresql)"), .serialized)
struct PostgresHealthStoreTests {
  typealias S = FleetTestSupport
  static let key = CircuitKey(provider: "p", model: "m", keyFingerprint: "fp1")
  /// Generous: these tests are about the lease, not timeouts (the migration of a fresh server under a loaded machine can take seconds).
  static let timeoutMs: Int64 = 10_000
  static let logger = Logger(label: "fleet-health-test", factory: { _ in SwiftLogNoOpLogHandler() })

  static func stores(_ ledgers: [PostgresBudgetLedger], probeLeaseMs: Int64 = 1_000) -> [PostgresHealthStore] {
    ledgers.map { PostgresHealthStore(shared: $0, probeLeaseMs: probeLeaseMs, logger: logger) }
  }

  static func opened(until: Int64, openings: Int = 1, at: Int64) -> SharedCircuitChange {
    .opened(untilWallMs: until, cooldownMs: 1_000, openings: openings, notBeforeWallMs: nil, atWallMs: at)
  }

  /// Three sidecars, 30 concurrent lease requests once the fleet's window has
  /// passed: exactly one is granted, every other is refused until the winner's
  /// lease ends; before the window nobody gets it.
  @Test func ofManySidecarsRacingForTheProbeExactlyOneWins() async throws {
    let server = try await PostgresTestServer.make()
    defer { server.remove() }
    try await S.withLedgers(server, count: 3, timeoutMs: Self.timeoutMs) { ledgers in
      let stores = Self.stores(ledgers)
      let t = S.day0
      try await stores[0].write(Self.key, Self.opened(until: t + 1_000, at: t))
      for s in stores { #expect(try await s.tryAcquireProbe(Self.key, wallMillis: t + 999) == .refused(untilWallMs: t + 1_000)) }
      let answers = try await withThrowingTaskGroup(of: (Int, ProbeLease).self) { g in
        for i in 0..<30 { g.addTask { (i % 3, try await stores[i % 3].tryAcquireProbe(Self.key, wallMillis: t + 1_000)) } }
        var out: [(Int, ProbeLease)] = []
        for try await a in g { out.append(a) }
        return out
      }
      // A sidecar's own board lets one probe out at a time; the lease is re-granted
      // to its holder only (a retried request), never to a second sidecar.
      let winners = answers.filter { $0.1 == .granted }
      #expect(!winners.isEmpty && Set(winners.map(\.0)).count == 1, "exactly one sidecar holds the probe: \(winners.map(\.0))")
      let refused = answers.filter { $0.1 != .granted }
      #expect(refused.count == 20 && refused.allSatisfy { $0.1 == .refused(untilWallMs: t + 2_000) && $0.0 != winners[0].0 })
      let holder = try server.psql("SELECT probe_holder FROM sb_circuit", database: server.database)
      #expect(holder == "s\(winners[0].0)")
    }
  }

  /// No opening has reached the database yet (every sidecar's write still queued, as
  /// on a loaded machine) and all three sidecars ask for the probe at once: the first
  /// claims the row with the lease, the others are refused until it ends. Before
  /// the claim, each saw "no row" and probed on its own (the fleet test caught it).
  @Test func sidecarsRacingBeforeAnyOpeningIsWrittenStillGetOneProbe() async throws {
    let server = try await PostgresTestServer.make()
    defer { server.remove() }
    try await S.withLedgers(server, count: 3, timeoutMs: Self.timeoutMs) { ledgers in
      let stores = Self.stores(ledgers)
      let t = S.day0
      let answers = try await withThrowingTaskGroup(of: (Int, ProbeLease).self) { g in
        for i in 0..<3 { g.addTask { (i, try await stores[i].tryAcquireProbe(Self.key, wallMillis: t)) } }
        var out: [(Int, ProbeLease)] = []
        for try await a in g { out.append(a) }
        return out
      }
      let winners = answers.filter { $0.1 == .granted }
      #expect(winners.count == 1, "one probe for the fleet: \(answers)")
      #expect(answers.filter { $0.1 != .granted }.allSatisfy { $0.1 == .refused(untilWallMs: t + 1_000) }, "\(answers)")
      // The other sidecars' queued openings then merge into the claimed row and keep the lease.
      for (i, store) in stores.enumerated() where i != winners.first?.0 {
        try await store.write(Self.key, Self.opened(until: t + 500, at: t))
      }
      let holder = try server.psql("SELECT probe_holder FROM sb_circuit", database: server.database)
      #expect(holder == "s\(winners.first?.0 ?? -1)" || winners.isEmpty)
    }
  }

  /// A lease whose holder never reports (it died) can be taken once it expired; the
  /// dead holder's late close then does not close the new holder's circuit, and the
  /// new holder's failed probe re-opens it with the next back-off and frees the lease.
  @Test func anExpiredProbeLeaseCanBeTaken() async throws {
    let server = try await PostgresTestServer.make()
    defer { server.remove() }
    try await S.withLedgers(server, count: 2, timeoutMs: Self.timeoutMs) { ledgers in
      let stores = Self.stores(ledgers)
      let t = S.day0
      try await stores[0].write(Self.key, Self.opened(until: t, at: t - 1_000))
      #expect(try await stores[0].tryAcquireProbe(Self.key, wallMillis: t) == .granted)
      #expect(try await stores[1].tryAcquireProbe(Self.key, wallMillis: t + 999) == .refused(untilWallMs: t + 1_000))
      #expect(try await stores[1].tryAcquireProbe(Self.key, wallMillis: t + 1_001) == .granted)
      try await stores[0].write(Self.key, .closed(atWallMs: t + 1_002))
      #expect(try server.psql("SELECT state || ' ' || probe_holder FROM sb_circuit", database: server.database) == "open s1")
      try await stores[1].write(Self.key, Self.opened(until: t + 3_001, openings: 2, at: t + 1_001))
      #expect(try server.psql("SELECT state || ' ' || openings || ' ' || coalesce(probe_holder, '-') FROM sb_circuit", database: server.database)
              == "open 2 -")
      #expect(try await stores[0].tryAcquireProbe(Self.key, wallMillis: t + 3_000) == .refused(untilWallMs: t + 3_001))
    }
  }

  /// Sidecar A's board opens a circuit; B's board knows nothing of it until one
  /// refresh, then blocks it too; after the fleet's window both boards offer the
  /// probe locally and the lease lets exactly one send it. A's failed probe
  /// re-opens the fleet's circuit with the doubled cooldown, which B sees; its
  /// success closes B's too.
  @Test func anOpenCircuitPublishedByOneSidecarIsSeenByAnotherAfterOneRefresh() async throws {
    let server = try await PostgresTestServer.make()
    defer { server.remove() }
    try await S.withLedgers(server, count: 2, timeoutMs: Self.timeoutMs) { ledgers in
      let stores = Self.stores(ledgers, probeLeaseMs: 5_000)
      let clock = VirtualClock(wallOriginMillis: S.day0)
      var policy = CircuitPolicy()
      policy.failureThreshold = 1; policy.baseCooldown = .seconds(1); policy.maxCooldown = .seconds(8); policy.jitter = 0
      let a = HealthBoard(policy: policy, seed: 1), b = HealthBoard(policy: policy, seed: 2)
      stores[0].attach(a, clock: clock); stores[1].attach(b, clock: clock)
      let drains = [Task { await stores[0].drain() }, Task { await stores[1].drain() }]
      /// Waits (bounded) until the writer queue reached the database: `predicate` holds on the row.
      func row(_ predicate: String) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
          if try server.psql("SELECT count(*) FROM sb_circuit WHERE \(predicate)", database: server.database) == "1" { return true }
          try await Task.sleep(for: .milliseconds(10))
        }
        return false
      }
      a.recordFailure(Self.key, class: .hard, retryAfter: nil, now: clock.now())
      let reached1 = try await row("state = 'open' AND openings = 1")
      #expect(reached1)
      #expect(!b.isBlocked(Self.key, now: clock.now()), "before a refresh B has not heard")
      await stores[1].refresh()
      #expect(b.isBlocked(Self.key, now: clock.now()), "one refresh later B blocks the circuit A opened")
      clock.advance(by: .seconds(1))
      #expect(a.admit(Self.key, now: clock.now()) == .probe && b.admit(Self.key, now: clock.now()) == .probe)
      async let ca = a.confirmProbe(Self.key, now: clock.now())
      async let cb = b.confirmProbe(Self.key, now: clock.now())
      let (va, vb) = await (ca, cb)
      #expect([va, vb].filter { $0 == .probe }.count == 1, "exactly one probe in the fleet: \(va) \(vb)")
      let (winner, loser) = va == .probe ? (a, b) : (b, a)
      #expect(!loser.admit(Self.key, now: clock.now()).isAllowed)
      winner.recordFailure(Self.key, class: .transient, retryAfter: nil, now: clock.now(), probe: true)
      let reached2 = try await row("state = 'open' AND openings = 2 AND probe_holder IS NULL AND cooldown_ms = 2000")
      #expect(reached2)
      await (loser === a ? stores[0] : stores[1]).refresh()
      #expect(loser.snapshot(now: clock.now()).first?.openings == 2)
      clock.advance(by: .seconds(2))
      #expect(loser.admit(Self.key, now: clock.now()) == .probe)
      #expect(await loser.confirmProbe(Self.key, now: clock.now()) == .probe)
      loser.recordSuccess(Self.key, probe: true)
      let reached3 = try await row("state = 'closed' AND openings = 0")
      #expect(reached3)
      await (winner === a ? stores[0] : stores[1]).refresh()
      #expect(winner.admit(Self.key, now: clock.now()) == .allowed, "the fleet's close reached the other sidecar")
      for s in stores { s.finish() }
      for d in drains { await d.value }
    }
  }

  /// A probe that lasts longer than its lease keeps it while its sidecar lives:
  /// every refresh renews the leases of the probes the board still has in flight,
  /// so no second sidecar probes meanwhile; once it reported, nothing is renewed.
  @Test func aLongProbeKeepsItsLeaseWhileItsSidecarLives() async throws {
    let server = try await PostgresTestServer.make()
    defer { server.remove() }
    try await S.withLedgers(server, count: 2, timeoutMs: Self.timeoutMs) { ledgers in
      let stores = Self.stores(ledgers, probeLeaseMs: 1_000)
      let clock = VirtualClock(wallOriginMillis: S.day0)
      var policy = CircuitPolicy()
      policy.failureThreshold = 1; policy.baseCooldown = .seconds(1); policy.maxCooldown = .seconds(1); policy.jitter = 0
      let a = HealthBoard(policy: policy, seed: 1)
      stores[0].attach(a, clock: clock)
      let t = S.day0
      try await stores[0].write(Self.key, Self.opened(until: t, at: t - 1_000))
      await stores[0].refresh()
      #expect(a.admit(Self.key, now: clock.now()) == .probe)
      #expect(await a.confirmProbe(Self.key, now: clock.now()) == .probe)
      clock.advance(by: .milliseconds(900))
      await stores[0].refresh()  // renews to t + 1900
      #expect(try await stores[1].tryAcquireProbe(Self.key, wallMillis: t + 1_500) == .refused(untilWallMs: t + 1_900),
              "the lease outlived its first second because the probe is still in flight")
      a.releaseProbe(Self.key)  // the probe ended without a verdict: the lease is given back (queued) and no longer renewed
      try await stores[0].write(Self.key, .probeReleased(atWallMs: t + 1_500))
      clock.advance(by: .milliseconds(900))
      await stores[0].refresh()
      #expect(try await stores[1].tryAcquireProbe(Self.key, wallMillis: t + 1_901) == .granted)
    }
  }

  /// With the database gone a lease request answers `.local` within the timeout,
  /// the next without trying (until a refresh succeeds), and writes are
  /// dropped: health is local-only and never blocks.
  @Test func anUnreachableDatabaseLeavesHealthLocalWithoutWaiting() async throws {
    let server = try await PostgresTestServer.make()
    defer { server.remove() }
    try await S.withLedgers(server, count: 1, timeoutMs: 3_000) { ledgers in
      let store = Self.stores(ledgers)[0]
      try await server.stopOffPool()
      let t0 = ContinuousClock.now
      #expect(await store.acquireProbe(Self.key, wallMillis: S.day0) == .local)
      #expect(ContinuousClock.now - t0 < .seconds(10), "bounded by the timeout")
      #expect(!store.isAvailable)
      #expect(await store.acquireProbe(Self.key, wallMillis: S.day0) == .local)
      try await server.startOffPool()
      let board = HealthBoard()
      store.attach(board, clock: VirtualClock(wallOriginMillis: S.day0))
      let deadline = ContinuousClock.now + .seconds(60)
      while !store.isAvailable && ContinuousClock.now < deadline {
        await store.refresh()
        try await Task.sleep(for: .milliseconds(50))
      }
      #expect(store.isAvailable, "a refresh that answers shares again")
    }
  }
}
