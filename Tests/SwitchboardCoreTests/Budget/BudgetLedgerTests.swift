import Synchronization
import Testing

@testable import SwitchboardCore

/// Wraps the in-memory ledger and records, after every call, the highest
/// spent + reserved each account (`scope@window`) ever held.
final class CheckingLedger: BudgetLedger {
  let inner = InMemoryBudgetLedger()
  let peak = Mutex<[String: MicroUSD]>([:])
  func reserve(_ amount: MicroUSD, scopes: [BudgetScope], requestID: String, wallMillis: Int64) async -> ReservationResult {
    let r = inner.reserveNow(amount, scopes: scopes, requestID: requestID, wallMillis: wallMillis)
    record(wallMillis)
    return r
  }
  func settle(_ reservation: BudgetReservation, actual: MicroUSD, wallMillis: Int64) async -> SettleResult {
    let r = inner.settleNow(reservation, actual: actual, wallMillis: wallMillis).0
    record(wallMillis)
    return r
  }
  func release(_ reservation: BudgetReservation) async { inner.releaseNow(reservation) }
  func snapshot(scopes: [BudgetScope]?, wallMillis: Int64) async -> [BudgetSnapshot] { inner.snapshotNow(scopes: scopes, wallMillis: wallMillis) }
  func record(_ wall: Int64) {
    for s in inner.snapshotNow(wallMillis: wall) {
      peak.withLock { $0["\(s.scope)@\(s.window)"] = max($0["\(s.scope)@\(s.window)"] ?? .zero, s.spent + s.reserved) }
    }
  }
  func snap(_ scope: String, _ window: String = "daily", wall: Int64) -> BudgetSnapshot? {
    inner.snapshotNow(wallMillis: wall).first { $0.scope == scope && $0.window == window }
  }
}

func usd(_ v: Double) -> MicroUSD { MicroUSD(usd: v) }

@Suite("Budget ledger")
struct BudgetLedgerTests {
  static let day0: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z

  @Test func hardCapHoldsUnder100ConcurrentRequests() async throws {
    var route = Fixture.route("r", [Fixture.b])
    route.budget.perTenantDaily = BudgetLimit(softUSD: 0.0015, hardUSD: 0.003)
    route.budget.perRouteDaily = BudgetLimit(softUSD: nil, hardUSD: 0.0029)
    let ledger = CheckingLedger()
    let b = ScriptedAdapter("b", then: .ok("answer", after: .milliseconds(500)))
    let world = TestWorld(routes: [route], adapters: [b], ledger: ledger)
    let router = world.router
    let outcomes = try await world.driver.run(100) { i in
      try await world.clock.sleep(for: .milliseconds(i % 10 * 50))
      return await router.complete(Fixture.request(id: "b\(i)"))
    }
    let wall = world.clock.wallMillis()
    let tenant = try #require(ledger.snap("route:r/tenant:t1", wall: wall))
    let routeScope = try #require(ledger.snap("route:r", wall: wall))
    #expect(tenant.spent <= usd(0.003) && routeScope.spent <= usd(0.0029))
    #expect(ledger.peak.withLock { $0["route:r@daily"] ?? .zero } <= usd(0.0029), "spent + reserved never crossed the hard cap")
    #expect(tenant.reserved == .zero && routeScope.reserved == .zero)
    let served = outcomes.filter { $0.value != nil }.count
    #expect(served > 0 && served < 100)
    #expect(outcomes.filter { $0.value == nil }.allSatisfy { $0.error?.code == .resourceExhausted })
    #expect(b.calls.count == served, "a refused reservation never reaches the provider")
    #expect(outcomes.reduce(MicroUSD.zero) { $0 + MicroUSD($1.event.totalSpendMicroUSD ?? 0) } == routeScope.spent)
    #expect(outcomes.contains { $0.event.warnings.contains("soft_budget_exceeded:route:r/tenant:t1") }, "soft cap warns")
  }

  @Test func integerAmountsDoNotDrift() {
    // The old Double ledger left reserved_usd = 8.67e-19 after settles like these.
    let ledger = InMemoryBudgetLedger()
    let scope = BudgetScope(key: "s", limit: BudgetLimit(softUSD: nil, hardUSD: 10_000))
    for _ in 0..<10_000 {
      guard case .reserved(let r, _) = ledger.reserveNow(usd(0.1), scopes: [scope], requestID: "x", wallMillis: Self.day0) else {
        Issue.record(); return
      }
      _ = ledger.settleNow(r, actual: usd(0.07), wallMillis: Self.day0)
    }
    let s = ledger.snapshotNow(wallMillis: Self.day0).first
    #expect(s?.reserved == .zero)
    #expect(s?.spent == MicroUSD(700_000_000))
    #expect(s?.spent.description == "700.0")
  }

  @Test func reserveRefusesWhatWouldCrossTheCapAndSettleReleases() {
    let ledger = InMemoryBudgetLedger()
    let scope = BudgetScope(key: "s", limit: BudgetLimit(softUSD: 0.5, hardUSD: 1))
    guard case .reserved(let r1, let soft1) = ledger.reserveNow(usd(0.6), scopes: [scope], requestID: "a", wallMillis: Self.day0) else { Issue.record(); return }
    #expect(soft1 == ["s"])
    guard case .denied(let key, let remaining) = ledger.reserveNow(usd(0.5), scopes: [scope], requestID: "b", wallMillis: Self.day0) else { Issue.record(); return }
    #expect(key == "s@daily" && remaining == usd(0.4))
    _ = ledger.settleNow(r1, actual: usd(0.1), wallMillis: Self.day0)
    guard case .reserved(let r2, _) = ledger.reserveNow(usd(0.5), scopes: [scope], requestID: "c", wallMillis: Self.day0) else { Issue.record("room after settle"); return }
    #expect(ledger.snapshotNow(wallMillis: Self.day0).first?.spent == usd(0.1))
    ledger.releaseNow(r2)
    #expect(ledger.snapshotNow(wallMillis: Self.day0).first?.reserved == .zero)
    #expect(ledger.settleNow(r2, actual: usd(9), wallMillis: Self.day0).0.charged == .zero, "a released reservation cannot be settled")
  }

  @Test func anOverageIsRecordedInFullAndTheScopeRefusesUntilTheNextPeriod() {
    let ledger = InMemoryBudgetLedger()
    let scope = BudgetScope(key: "s", limit: BudgetLimit(softUSD: nil, hardUSD: 1))
    guard case .reserved(let r, _) = ledger.reserveNow(usd(0.8), scopes: [scope], requestID: "a", wallMillis: Self.day0) else { Issue.record(); return }
    let settled = ledger.settleNow(r, actual: usd(1.3), wallMillis: Self.day0).0
    #expect(settled.charged == usd(1.3) && settled.overage == usd(0.5) && settled.overCap == ["s@daily"])
    #expect(ledger.snapshotNow(wallMillis: Self.day0).first?.spent == usd(1.3), "the money was spent: recorded, not clipped")
    guard case .denied = ledger.reserveNow(.zero, scopes: [scope], requestID: "b", wallMillis: Self.day0) else {
      Issue.record("a scope over its cap must refuse even a zero reservation"); return
    }
    guard case .reserved = ledger.reserveNow(usd(0.5), scopes: [scope], requestID: "c", wallMillis: Self.day0 + 86_400_000) else {
      Issue.record("the next day starts afresh"); return
    }
  }

  @Test func settleAcrossMidnight() {
    let ledger = InMemoryBudgetLedger()
    let scope = BudgetScope(key: "s", limit: BudgetLimit(softUSD: nil, hardUSD: 1))
    let lateD0 = Self.day0 + 86_400_000 - 100
    let earlyD1 = Self.day0 + 86_400_000 + 100
    guard case .reserved(let spent, _) = ledger.reserveNow(usd(0.9), scopes: [scope], requestID: "a", wallMillis: Self.day0) else { Issue.record(); return }
    _ = ledger.settleNow(spent, actual: usd(0.9), wallMillis: Self.day0)
    guard case .reserved(let straddling, _) = ledger.reserveNow(usd(0.05), scopes: [scope], requestID: "b", wallMillis: lateD0) else { Issue.record(); return }
    #expect(ledger.snapshotNow(wallMillis: earlyD1).first?.spent == .zero)
    #expect(ledger.snapshotNow(wallMillis: earlyD1).first?.reserved == usd(0.05))
    #expect(ledger.snapshotNow(wallMillis: earlyD1).first?.period == "2026-01-02")
    guard case .denied = ledger.reserveNow(usd(0.96), scopes: [scope], requestID: "c", wallMillis: earlyD1) else { Issue.record("carried reservation ignored"); return }
    _ = ledger.settleNow(straddling, actual: usd(0.04), wallMillis: earlyD1)
    let s = ledger.snapshotNow(wallMillis: earlyD1).first
    #expect(s?.reserved == .zero)
    #expect(s?.spent == usd(0.04), "money spent after midnight is charged today")
  }

  @Test func aWallClockSteppedBackAcrossMidnightDoesNotWipeSpend() {
    let ledger = InMemoryBudgetLedger()
    let scope = BudgetScope(key: "s", limit: BudgetLimit(softUSD: nil, hardUSD: 1))
    let d1 = Self.day0 + 86_400_000 + 500
    guard case .reserved(let r, _) = ledger.reserveNow(usd(0.9), scopes: [scope], requestID: "a", wallMillis: d1) else { Issue.record(); return }
    _ = ledger.settleNow(r, actual: usd(0.9), wallMillis: d1)
    _ = ledger.snapshotNow(wallMillis: d1 - 1_000)
    guard case .denied = ledger.reserveNow(usd(0.5), scopes: [scope], requestID: "b", wallMillis: d1 + 10) else {
      Issue.record("today's spend was wiped by a backwards clock step"); return
    }
  }

  @Test func windowsFollowTheConfiguredTimeZone() throws {
    let berlin = try #require(BudgetCalendar(timeZone: "Europe/Berlin"))
    let ledger = InMemoryBudgetLedger(calendar: berlin)
    let daily = BudgetScope(key: "t", window: .daily, limit: BudgetLimit(softUSD: nil, hardUSD: 1))
    let monthly = BudgetScope(key: "t", window: .monthly, limit: BudgetLimit(softUSD: nil, hardUSD: 1.5))
    // 2026-01-31T22:30Z is 23:30 in Berlin (still January 31st); 23:30Z is February 1st there.
    let jan31 = Self.day0 + 30 * 86_400_000 + 22 * 3_600_000 + 1_800_000
    let feb1 = jan31 + 3_600_000
    guard case .reserved(let r, _) = ledger.reserveNow(usd(0.9), scopes: [daily, monthly], requestID: "a", wallMillis: jan31) else { Issue.record(); return }
    _ = ledger.settleNow(r, actual: usd(0.9), wallMillis: jan31)
    #expect(ledger.snapshotNow(scopes: [daily, monthly], wallMillis: jan31).map(\.period) == ["2026-01-31", "2026-01"])
    guard case .denied(let which, _) = ledger.reserveNow(usd(0.2), scopes: [daily, monthly], requestID: "b", wallMillis: jan31) else { Issue.record(); return }
    #expect(which == "t@daily")
    // An hour later it is a new day and a new month in Berlin (not yet in UTC).
    let snaps = ledger.snapshotNow(scopes: [daily, monthly], wallMillis: feb1)
    #expect(snaps.map(\.period) == ["2026-02-01", "2026-02"])
    #expect(snaps.map(\.spent) == [.zero, .zero])
    // A monthly cap outlives the day: 0.9 today + 0.9 tomorrow crosses 1.5 a month.
    let monthOnly = InMemoryBudgetLedger(calendar: berlin)
    for (i, wall) in [feb1, feb1 + 86_400_000].enumerated() {
      let result = monthOnly.reserveNow(usd(0.9), scopes: [daily, monthly], requestID: "m\(i)", wallMillis: wall)
      if i == 0, case .reserved(let r, _) = result { _ = monthOnly.settleNow(r, actual: usd(0.9), wallMillis: wall) }
      if i == 1 { guard case .denied(let s, _) = result, s == "t@monthly" else { Issue.record("monthly cap ignored: \(result)"); return } }
    }
  }

  @Test func seedLoadsTheCurrentPeriodOnly() {
    let ledger = InMemoryBudgetLedger()
    let scope = BudgetScope(key: "s", limit: BudgetLimit(softUSD: nil, hardUSD: 1))
    guard case .reserved = ledger.reserveNow(usd(0.3), scopes: [scope], requestID: "a", wallMillis: Self.day0) else { Issue.record(); return }
    ledger.seed([.init(key: "s", window: .daily, period: "2026-01-01", spent: usd(0.6)),
                 .init(key: "s", window: .daily, period: "2025-12-31", spent: usd(5))], wallMillis: Self.day0)
    guard case .denied = ledger.reserveNow(usd(0.2), scopes: [scope], requestID: "b", wallMillis: Self.day0) else { Issue.record("cap crossed after seed"); return }
    #expect(ledger.snapshotNow(wallMillis: Self.day0).first?.spent == usd(0.6))
  }
}
