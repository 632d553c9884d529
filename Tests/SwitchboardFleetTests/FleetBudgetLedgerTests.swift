import Foundation
import Logging
import Testing
import SwitchboardCore
import SwitchboardTestKit
@testable import SwitchboardFleet

/// `on_unavailable` against a real PostgreSQL that is stopped and started again.
@Suite(.enabled(if: PostgresTestServer.isAvailable, "needs a PostgreSQL server (apt-get install -y postgresql)"), .serialized)
struct FleetBudgetLedgerTests {
  typealias S = FleetTestSupport

  static func withFleet(_ server: PostgresTestServer, _ policy: SharedStateConfiguration.OnUnavailable, share: Double = 0.1,
                        _ body: @escaping @Sendable (FleetBudgetLedger) async throws -> Void) async throws {
    let logger = Logger(label: "fleet-test", factory: { _ in SwiftLogNoOpLogHandler() })
    // 5 s per call: 500 ms (and 2 s in a full parallel run on two busy cores) could time
    // out a healthy database's answer (a reservation refused as unavailable, server up).
    let c = S.configuration(server, timeoutMs: 5_000, onUnavailable: policy, share: share)
    let pg = PostgresBudgetLedger(configuration: c, sidecarID: "f0", calendar: .utc, logger: logger)
    let fleet = FleetBudgetLedger(shared: pg, onUnavailable: policy, localShare: share, wallClock: { S.day0 }, logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await pg.client.run() }
      group.addTask {
        // The first pass migrates a fresh server: on a loaded machine that can outlast one call's timeout.
        var started = false
        for _ in 0..<20 where !started { started = await fleet.start(nowMillis: S.day0) }  // as maintenance passes would
        #expect(started)
        try await body(fleet)
      }
      try await group.next()
      group.cancelAll()
    }
  }

  /// Maintenance passes until the database answers again (the pool reconnects with back-off), at most 60 s
  /// (a wait for a state; the callers then expect it).
  static func recover(_ fleet: FleetBudgetLedger) async throws {
    let deadline = ContinuousClock.now + .seconds(60)
    while ContinuousClock.now < deadline {
      await fleet.maintain(nowMillis: S.day0)
      if fleet.isAvailable && fleet.pendingWrites == 0 { return }
      try await Task.sleep(for: .milliseconds(100))
    }
  }

  /// The seconds `body` took (only to prove it did not hang: the bound is 10× the timeout).
  static func elapsed(_ body: () async -> Void) async -> Double {
    let t = ContinuousClock.now
    await body()
    let d = ContinuousClock.now - t
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
  }

  /// fail_closed: with the database gone a reservation is refused with
  /// `shared_state_unavailable` within the call timeout (then at once), a settle
  /// made meanwhile is kept and written when the database is back, and the
  /// sidecar returns to the shared ledger by itself.
  @Test func failClosedRefusesWithoutHangingAndReconciles() async throws {
    let server = try await PostgresTestServer.make()
    defer { server.remove() }
    try await Self.withFleet(server, .failClosed) { fleet in
      let cap = S.scope("tenant:t", hard: 1_000)
      guard case .reserved(let r, _) = await fleet.reserve(MicroUSD(100), scopes: [cap], requestID: "a", wallMillis: S.day0) else {
        Issue.record(); return
      }
      #expect(r.backend == .postgres)
      try await server.stopOffPool()
      var refused: ReservationResult?
      let first = await Self.elapsed { refused = await fleet.reserve(MicroUSD(1), scopes: [cap], requestID: "b", wallMillis: S.day0) }
      guard case .unavailable(let why) = refused else { Issue.record("must refuse"); return }
      #expect(why == ReasonCode.sharedStateUnavailable.rawValue)
      #expect(first < 30, "bounded by timeout_ms (5 s), not a hang")
      #expect(!fleet.isAvailable)
      let second = await Self.elapsed { refused = await fleet.reserve(MicroUSD(1), scopes: [cap], requestID: "c", wallMillis: S.day0) }
      #expect(second < 2.5, "once down, refusals do not wait for the database (a wait is the 5 s timeout)")
      let settled = await fleet.settle(r, actual: MicroUSD(80), wallMillis: S.day0)
      #expect(settled.charged == MicroUSD(80))
      #expect(fleet.pendingWrites == 1)
      await fleet.maintain(nowMillis: S.day0)
      #expect(!fleet.isAvailable, "still down")
      try await server.startOffPool()
      try await Self.recover(fleet)
      #expect(fleet.isAvailable)
      #expect(fleet.pendingWrites == 0)
      let snap = try await fleet.shared.snapshot(wallMillis: S.day0)
      #expect(S.spent(snap, "tenant:t") == (80, 0), "the settle made during the outage reached the shared ledger")
      guard case .reserved(let again, _) = await fleet.reserve(MicroUSD(1), scopes: [cap], requestID: "d", wallMillis: S.day0) else {
        Issue.record("back on the shared ledger"); return
      }
      #expect(again.backend == .postgres)
    }
  }

  /// local: with the database gone the sidecar spends from its share of each cap
  /// (10% of 1000 = 100: three reservations of 30, not a fourth), answers with
  /// `local_fallback`, and pushes that spend to the shared ledger — exactly once —
  /// when it returns.
  @Test func localFallbackIsBoundedByTheShareAndReconciles() async throws {
    let server = try await PostgresTestServer.make()
    defer { server.remove() }
    try await Self.withFleet(server, .local, share: 0.1) { fleet in
      let cap = S.scope("tenant:t", hard: 1_000)
      let uncapped = S.scope("route:r", hard: nil)
      try await server.stopOffPool()
      var held: [BudgetReservation] = []
      var denied = 0
      for i in 0..<5 {
        switch await fleet.reserve(MicroUSD(30), scopes: [cap, uncapped], requestID: "l\(i)", wallMillis: S.day0) {
        case .reserved(let r, _): held.append(r)
        case .denied: denied += 1
        case .unavailable: Issue.record("local must not refuse as unavailable")
        }
      }
      #expect(held.count == 3)
      #expect(denied == 2)
      #expect(held.allSatisfy { $0.backend == .localFallback })
      #expect(fleet.stateBackend == .localFallback)
      for r in held { _ = await fleet.settle(r, actual: MicroUSD(30), wallMillis: S.day0) }
      #expect(fleet.pendingWrites == 3)
      try await server.startOffPool()
      try await Self.recover(fleet)
      #expect(fleet.isAvailable)
      #expect(fleet.pendingWrites == 0)
      let snap = try await fleet.shared.snapshot(wallMillis: S.day0)
      #expect(S.spent(snap, "tenant:t").spent == 90)
      #expect(S.spent(snap, "route:r").spent == 90)
      // The share is per period: after the outage the local ledger still counts its 90.
      try await server.stopOffPool()
      guard case .denied = await fleet.reserve(MicroUSD(30), scopes: [cap], requestID: "m", wallMillis: S.day0) else {
        Issue.record("a second outage in the same day must not grant a second share"); return
      }
      try await server.startOffPool()
    }
  }
}
