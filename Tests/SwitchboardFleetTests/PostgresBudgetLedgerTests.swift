import Synchronization
import Testing
import SwitchboardCore
import SwitchboardTestKit
@testable import SwitchboardFleet

/// The shared ledger against a real PostgreSQL (a throwaway server per test).
/// Skipped, with the reason printed, where no server can be started.
@Suite(.enabled(if: PostgresTestServer.isAvailable, "needs a PostgreSQL server (apt-get install -y postgresql)"), .serialized)
struct PostgresBudgetLedgerTests {
  typealias S = FleetTestSupport

  /// 300 concurrent reserves from three sidecars (three pools) against a route cap
  /// of 700 that two tenant caps share. Exactly as many fit as the caps allow: a
  /// read-then-write reserve lets more through under this interleaving; and every
  /// reservation lands in all its caps or none (route reserved == the tenants' sum).
  @Test func concurrentReservesFromSeveralSidecarsNeverCrossACap() async throws {
    let server = try await PostgresTestServer.make()
    defer { server.remove() }
    // Atomicity, not latency: 300 reserves on one hot cap row may queue for seconds on
    // a loaded machine, so the calls get a generous bound (a timeout here is not the
    // property under test, and must fail the test, not crash the test process).
    try await S.withLedgers(server, count: 3, timeoutMs: 30_000) { ledgers in
      let route = S.scope("route:chat", hard: 700)
      let tenantA = S.scope("tenant:a", hard: 300)
      let tenantB = S.scope("tenant:b", hard: 10_000)
      let daemon = S.scope("daemon", hard: 100_000, window: .monthly)
      let all = try await withThrowingTaskGroup(of: BudgetReservation?.self) { group in
        for i in 0..<300 {
          group.addTask {
            let l = ledgers[i % 3]
            let scopes = i % 2 == 0 ? [tenantA, route, daemon] : [daemon, tenantB, route]
            if case .reserved(let r, _) = try await l.reserve(MicroUSD(10), scopes: scopes, requestID: "r\(i)", wallMillis: S.day0) {
              return r
            }
            return nil
          }
        }
        var out: [BudgetReservation] = []
        for try await r in group { if let r { out.append(r) } }
        return out
      }
      let snap = try await ledgers[0].snapshot(wallMillis: S.day0)
      let r = S.spent(snap, "route:chat"), a = S.spent(snap, "tenant:a"), b = S.spent(snap, "tenant:b")
      #expect(all.count == 70, "the route cap fits exactly 70 reservations of 10")
      #expect(r.reserved == 700)
      #expect(a.reserved <= 300)
      #expect(r.reserved == a.reserved + b.reserved, "a reservation refused by one cap left nothing in another")
      #expect(S.spent(snap, "daemon", window: "monthly").reserved == 700)
      // Settle them all concurrently, from whichever sidecar: spent == cap, nothing reserved.
      try await withThrowingTaskGroup(of: Void.self) { group in
        for (i, res) in all.enumerated() {
          group.addTask { _ = try await ledgers[(i + 1) % 3].settle(res, actual: MicroUSD(10), wallMillis: S.day0) }
        }
        try await group.waitForAll()
      }
      let after = try await ledgers[1].snapshot(wallMillis: S.day0)
      #expect(S.spent(after, "route:chat") == (700, 0))
      guard case .denied(let scope, let remaining) = try await ledgers[2].reserve(MicroUSD(1), scopes: [route], requestID: "x", wallMillis: S.day0) else {
        Issue.record("a full cap must refuse"); return
      }
      #expect(scope == "route:chat@daily")
      #expect(remaining == .zero)
    }
  }

  /// A sidecar that dies (no renewals) holds its reservations only until its lease
  /// ends: any other sidecar's reaper gives them back; what it settled stays spent.
  /// Leases of a sidecar that lives are renewed and survive the same reap.
  @Test func expiredLeasesAreReleasedByAnySidecarAndSettledSpendStays() async throws {
    let server = try await PostgresTestServer.make()
    defer { server.remove() }
    try await S.withLedgers(server, count: 3, leaseMs: 1_000) { ledgers in
      let (dead, alive, reaper) = (ledgers[0], ledgers[1], ledgers[2])
      let cap = S.scope("tenant:t", hard: 500)
      var held: [BudgetReservation] = []
      for i in 0..<3 {
        guard case .reserved(let r, _) = try await dead.reserve(MicroUSD(100), scopes: [cap], requestID: "d\(i)", wallMillis: S.day0) else {
          Issue.record(); return
        }
        held.append(r)
      }
      _ = try await dead.settle(held.removeLast(), actual: MicroUSD(50), wallMillis: S.day0)  // 50 spent, 200 reserved
      guard case .reserved(let kept, _) = try await alive.reserve(MicroUSD(100), scopes: [cap], requestID: "a", wallMillis: S.day0) else {
        Issue.record(); return
      }
      guard case .denied(_, let remaining) = try await reaper.reserve(MicroUSD(200), scopes: [cap], requestID: "x", wallMillis: S.day0) else {
        Issue.record("200 + 100 + 50 + 200 > 500 must be refused"); return
      }
      #expect(remaining == MicroUSD(150))
      // Half a lease later the live sidecar renews; the dead one does not.
      #expect(try await alive.renewLeases(ids: [Int64(bitPattern: kept.id)], nowMillis: S.day0 + 500) == 1)
      #expect(try await alive.renewLeases(ids: held.map { Int64(bitPattern: $0.id) }, nowMillis: S.day0 + 500) == 0, "not its own")
      #expect(try await reaper.reapExpired(nowMillis: S.day0 + 999).released == 0, "not expired yet")
      let reaped = try await reaper.reapExpired(nowMillis: S.day0 + 1_001)
      #expect(reaped.released == 2)
      #expect(reaped.amount == MicroUSD(200))
      #expect(try await reaper.openReservationCount(sidecar: "s0") == 0)
      #expect(try await reaper.openReservationCount(sidecar: "s1") == 1)
      let snap = try await reaper.snapshot(wallMillis: S.day0)
      #expect(S.spent(snap, "tenant:t") == (50, 100))
      guard case .reserved = try await reaper.reserve(MicroUSD(350), scopes: [cap], requestID: "y", wallMillis: S.day0) else {
        Issue.record("the dead sidecar's reservations are back"); return
      }
      // A dead sidecar's late settle still charges (the money was spent), without giving the reservation back twice.
      _ = try await dead.settle(held[0], actual: MicroUSD(30), wallMillis: S.day0)
      let late = try await reaper.snapshot(wallMillis: S.day0)
      #expect(S.spent(late, "tenant:t") == (80, 450))
      _ = try await alive.settle(kept, actual: MicroUSD(100), wallMillis: S.day0)
    }
  }

  /// A settle retried after a timeout (same reservation) charges once; a release
  /// after a settle does nothing.
  @Test func settleIsIdempotent() async throws {
    let server = try await PostgresTestServer.make()
    defer { server.remove() }
    try await S.withLedgers(server, count: 1) { ledgers in
      let l = ledgers[0]
      let cap = S.scope("route:r", hard: 1_000)
      guard case .reserved(let r, _) = try await l.reserve(MicroUSD(200), scopes: [cap], requestID: "a", wallMillis: S.day0) else {
        Issue.record(); return
      }
      let first = try await l.settle(r, actual: MicroUSD(150), wallMillis: S.day0)
      let again = try await l.settle(r, actual: MicroUSD(150), wallMillis: S.day0)
      #expect(first.charged == MicroUSD(150))
      #expect(again.charged == .zero)
      #expect(try await l.release(r, wallMillis: S.day0) == false)
      #expect(S.spent(try await l.snapshot(wallMillis: S.day0), "route:r") == (150, 0))
    }
  }

  /// Spend survives a database restart and a new ledger process; migrating an
  /// existing schema again (a second sidecar, a restart) changes nothing.
  @Test func spendSurvivesRestartAndMigrationIsIdempotent() async throws {
    let server = try await PostgresTestServer.make()
    defer { server.remove() }
    let cap = S.scope("tenant:t", hard: 1_000)
    try await S.withLedgers(server, count: 2) { ledgers in
      guard case .reserved(let r, _) = try await ledgers[0].reserve(MicroUSD(400), scopes: [cap], requestID: "a", wallMillis: S.day0) else {
        Issue.record(); return
      }
      _ = try await ledgers[1].settle(r, actual: MicroUSD(400), wallMillis: S.day0)
    }
    try await server.stopOffPool(mode: "fast")
    try await server.startOffPool()
    try await S.withLedgers(server, count: 1) { ledgers in
      try await ledgers[0].migrate()
      #expect(S.spent(try await ledgers[0].snapshot(wallMillis: S.day0), "tenant:t") == (400, 0))
      guard case .denied = try await ledgers[0].reserve(MicroUSD(601), scopes: [cap], requestID: "b", wallMillis: S.day0) else {
        Issue.record("the restarted ledger must still count the 400"); return
      }
      // The next day starts afresh.
      guard case .reserved = try await ledgers[0].reserve(MicroUSD(601), scopes: [cap], requestID: "c", wallMillis: S.day0 + 86_400_000) else {
        Issue.record(); return
      }
    }
  }
}
