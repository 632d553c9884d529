import Synchronization
import Testing

@testable import SwitchboardCore

/// Checks the hard cap after every ledger call.
final class CheckingLedger: BudgetLedger {
  let inner = InMemoryBudgetLedger()
  let peak = Mutex<[String: Double]>([:])
  func reserve(_ amount: Double, scopes: [BudgetScope], wallMillis: Int64) -> ReservationResult {
    let r = inner.reserve(amount, scopes: scopes, wallMillis: wallMillis)
    record(wallMillis)
    return r
  }
  func settle(_ reservation: BudgetReservation, actual: Double) { inner.settle(reservation, actual: actual) }
  func isExhausted(_ scope: BudgetScope, wallMillis: Int64) -> Bool { inner.isExhausted(scope, wallMillis: wallMillis) }
  func remaining(_ scope: BudgetScope, wallMillis: Int64) -> Double? { inner.remaining(scope, wallMillis: wallMillis) }
  func snapshot(wallMillis: Int64) -> [BudgetSnapshot] { inner.snapshot(wallMillis: wallMillis) }
  func record(_ wall: Int64) {
    for s in inner.snapshot(wallMillis: wall) { peak.withLock { $0[s.scope] = max($0[s.scope] ?? 0, s.spent + s.reserved) } }
  }
}

@Suite("Budgets")
struct BudgetLedgerTests {
  static let day0: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z

  @Test func hardCapHoldsUnder100ConcurrentRequests() async throws {
    var route = Fixture.route("r", [Fixture.b])
    route.budget.perTenantDaily = BudgetLimit(soft: 0.0015, hard: 0.003)
    route.budget.perRouteDaily = BudgetLimit(hard: 0.0029)
    let ledger = CheckingLedger()
    // b: 2$/M in, 4$/M out; 100 max tokens → worst case ≈ 0.0004 + input; actual 100 in / 50 out = 0.0004.
    let b = ScriptedAdapter("b", then: .ok("answer", after: .milliseconds(500)))
    let world = TestWorld(routes: [route], adapters: [b], ledger: ledger)
    let router = world.router
    let outcomes = try await world.driver.run(100) { i in
      try await world.clock.sleep(for: .milliseconds(i % 10 * 50))
      return await router.complete(Fixture.request(id: "b\(i)"))
    }
    let wall = world.clock.wallMillis()
    let snaps = ledger.snapshot(wallMillis: wall)
    let tenant = try #require(snaps.first { $0.scope == "route:r/tenant:t1" })
    let routeScope = try #require(snaps.first { $0.scope == "route:r" })
    #expect(tenant.spent <= 0.003 + 1e-12 && routeScope.spent <= 0.0029 + 1e-12)
    #expect(ledger.peak.withLock { $0["route:r"] ?? 0 } <= 0.0029 + 1e-12, "spent + reserved never crossed the hard cap")
    #expect(tenant.reserved == 0 && routeScope.reserved == 0)
    let served = outcomes.filter { $0.value != nil }.count
    #expect(served > 0 && served < 100)
    #expect(outcomes.filter { $0.value == nil }.allSatisfy { $0.error?.code == .resourceExhausted })
    #expect(b.calls.count == served, "a refused reservation never reaches the provider")
    #expect(abs(outcomes.reduce(0) { $0 + $1.event.totalSpendUSD } - routeScope.spent) < 1e-12)
    #expect(outcomes.contains { $0.event.warnings.contains("soft_budget_exceeded:route:r/tenant:t1") }, "soft cap warns")
  }

  @Test func reserveRefusesWhatWouldCrossTheCapAndSettleReleases() {
    let ledger = InMemoryBudgetLedger()
    let scope = BudgetScope(key: "s", limit: BudgetLimit(soft: 0.5, hard: 1))
    guard case .reserved(let r1, let soft1) = ledger.reserve(0.6, scopes: [scope], wallMillis: Self.day0) else { Issue.record(); return }
    #expect(soft1 == ["s"])
    guard case .denied(let key, let remaining) = ledger.reserve(0.5, scopes: [scope], wallMillis: Self.day0) else { Issue.record(); return }
    #expect(key == "s" && abs(remaining - 0.4) < 1e-12)
    ledger.settle(r1, actual: 0.1)
    guard case .reserved = ledger.reserve(0.5, scopes: [scope], wallMillis: Self.day0) else { Issue.record("room after settle"); return }
    #expect(abs((ledger.snapshot(wallMillis: Self.day0).first?.spent ?? 0) - 0.1) < 1e-12)
  }

  @Test func settleAcrossMidnight() {
    let ledger = InMemoryBudgetLedger()
    let scope = BudgetScope(key: "s", limit: BudgetLimit(hard: 1))
    let lateD0 = Self.day0 + 86_400_000 - 100
    let earlyD1 = Self.day0 + 86_400_000 + 100
    guard case .reserved(let spent, _) = ledger.reserve(0.9, scopes: [scope], wallMillis: Self.day0) else { Issue.record(); return }
    ledger.settle(spent, actual: 0.9)
    guard case .reserved(let straddling, _) = ledger.reserve(0.05, scopes: [scope], wallMillis: lateD0) else { Issue.record(); return }
    // New day: yesterday's spend is gone, the in-flight reservation still counts.
    #expect(ledger.snapshot(wallMillis: earlyD1).first?.spent == 0)
    #expect(ledger.snapshot(wallMillis: earlyD1).first?.reserved == 0.05)
    guard case .denied = ledger.reserve(0.96, scopes: [scope], wallMillis: earlyD1) else { Issue.record("carried reservation ignored"); return }
    ledger.settle(straddling, actual: 0.04)
    let s = ledger.snapshot(wallMillis: earlyD1).first
    #expect(s?.reserved == 0)
    #expect(s.map { abs($0.spent - 0.04) < 1e-12 } == true, "money spent after midnight is charged today")
    #expect(!ledger.isExhausted(scope, wallMillis: earlyD1))
  }

  @Test func aWallClockSteppedBackAcrossMidnightDoesNotWipeSpend() {
    let ledger = InMemoryBudgetLedger()
    let scope = BudgetScope(key: "s", limit: BudgetLimit(hard: 1))
    let d1 = Self.day0 + 86_400_000 + 500
    guard case .reserved(let r, _) = ledger.reserve(0.9, scopes: [scope], wallMillis: d1) else { Issue.record(); return }
    ledger.settle(r, actual: 0.9)
    // NTP steps the clock back one second, into yesterday, then forward again.
    _ = ledger.snapshot(wallMillis: d1 - 1_000)
    guard case .denied = ledger.reserve(0.5, scopes: [scope], wallMillis: d1 + 10) else {
      Issue.record("today's spend was wiped by a backwards clock step"); return
    }
  }

  @Test func loadSeedsTheDayAndKeepsInFlightReservations() {
    let ledger = InMemoryBudgetLedger()
    let scope = BudgetScope(key: "s", limit: BudgetLimit(hard: 1))
    guard case .reserved = ledger.reserve(0.3, scopes: [scope], wallMillis: Self.day0) else { Issue.record(); return }
    ledger.load(spent: ["s": 0.6], day: Self.day0 / 86_400_000)
    guard case .denied = ledger.reserve(0.2, scopes: [scope], wallMillis: Self.day0) else { Issue.record("cap crossed after load"); return }
    ledger.load(spent: ["s": 5], day: Self.day0 / 86_400_000 - 1)  // a stale day is ignored
    #expect(ledger.snapshot(wallMillis: Self.day0).first.map { abs($0.spent - 0.6) < 1e-12 } == true)
  }
}
