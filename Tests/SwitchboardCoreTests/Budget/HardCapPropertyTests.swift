import Testing

@testable import SwitchboardCore

/// 256 concurrent requests on the virtual clock, random prompts, `max_tokens`,
/// latencies and usage: no capped scope ever holds more than its hard cap (honest
/// provider), or more than the cap plus the recorded overages (a provider that
/// reports more than the worst case).
@Suite("Hard cap under concurrency (property)")
struct HardCapPropertyTests {
  static func random(_ seed: UInt64, _ i: Int, _ salt: UInt64) -> SplitMix64 { SplitMix64(seed: seed &* 1_000_003 ^ UInt64(i) &* 7919 ^ salt) }

  /// A world of one route (two candidates), a daemon cap, a tenant cap and a route × tenant cap.
  static func world(seed: UInt64, overshoot: Bool, ledger: CheckingLedger) -> (TestWorld, UsageAdapter, UsageAdapter) {
    let usage: @Sendable (ProviderCall, Int) -> Usage = { call, i in
      var rng = random(seed, i, 0xA5)
      let inBound = ReservationEstimator.inputTokenBound(call.request)
      let outBound = call.request.maxTokens ?? 0
      if overshoot && rng.nextUnit() < 0.1 {
        return Usage(inputTokens: inBound * 3, outputTokens: outBound * 2)  // a provider that ignores max_tokens
      }
      return Usage(inputTokens: Int(rng.next() % UInt64(inBound + 1)), outputTokens: Int(rng.next() % UInt64(outBound + 1)),
                   cachedInputTokens: 0, cacheWriteTokens: 0)
    }
    let latency: @Sendable (Int) -> Duration = { i in var r = random(seed, i, 0x5A); return .milliseconds(Int64(1 + r.next() % 800)) }
    let a = UsageAdapter("a", latency: latency, usage: usage)
    let b = UsageAdapter("b", latency: latency, usage: usage)
    var route = Fixture.route("r", [Fixture.a, Fixture.b])
    route.budget.perTenant.daily = BudgetLimit(softUSD: nil, hardUSD: 0.6)
    route.budget.perRoute.daily = BudgetLimit(softUSD: 0.3, hardUSD: 0.5)
    var budgets = BudgetConfiguration()
    budgets.daemon.daily = BudgetLimit(softUSD: nil, hardUSD: 0.45)
    var acme = TenantPolicy(name: "t1")
    acme.budget.monthly = BudgetLimit(softUSD: nil, hardUSD: 0.4)
    budgets.tenants.tenants["t1"] = acme
    let world = TestWorld(routes: [route], adapters: [a, b], ledger: ledger, budgets: budgets)
    return (world, a, b)
  }

  static func requests(seed: UInt64, world: TestWorld) async throws -> [RoutedOutcome] {
    let router = world.router, clock = world.clock
    return try await world.driver.run(256) { i in
      var rng = random(seed, i, 0x17)
      try await clock.sleep(for: .milliseconds(Int64(rng.next() % 3_000)))
      let words = (0..<Int(1 + rng.next() % 300)).map { _ in ["refund", "Übergröße", "注文", "🙂", "x"][Int(rng.next() % 5)] }
      let req = ChatRequest(route: "r", messages: [ChatMessage(role: .user, content: words.joined(separator: " "))],
                            maxTokens: Int(1 + rng.next() % 2_000), tenant: "t1", requestID: "p\(i)")
      return await router.complete(req)
    }
  }

  static let caps: [String: MicroUSD] = [
    "route:r/tenant:t1@daily": usd(0.6), "route:r@daily": usd(0.5), "daemon@daily": usd(0.45), "tenant:t1@monthly": usd(0.4),
  ]

  @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
  func anHonestProviderNeverTakesAScopePastItsHardCap(seed: UInt64) async throws {
    let ledger = CheckingLedger()
    let (world, a, b) = Self.world(seed: seed, overshoot: false, ledger: ledger)
    let outcomes = try await Self.requests(seed: seed, world: world)
    let wall = world.clock.wallMillis()
    let served = outcomes.filter { $0.value != nil }.count
    #expect(served > 10 && served < 256, "the caps bite (served \(served))")
    for (account, hard) in Self.caps {
      let peak = ledger.peak.withLock { $0[account] ?? .zero }
      #expect(peak <= hard, "\(account): spent + reserved peaked at \(peak) > \(hard)")
    }
    let spent = ledger.snap("daemon", wall: wall)?.spent ?? .zero
    #expect(spent == outcomes.reduce(MicroUSD.zero) { $0 + MicroUSD($1.event.totalSpendMicroUSD ?? 0) }, "events account for every micro-USD")
    #expect(outcomes.allSatisfy { $0.event.overageMicroUSD == nil }, "a true upper bound never overshoots")
    #expect(ledger.inner.openReservations.isEmpty)
    #expect(a.callCount + b.callCount >= served)
  }

  @Test(arguments: [7, 8, 9] as [UInt64])
  func aLyingProviderOvershootsByAtMostTheRecordedOverages(seed: UInt64) async throws {
    let ledger = CheckingLedger()
    let (world, _, _) = Self.world(seed: seed, overshoot: true, ledger: ledger)
    let outcomes = try await Self.requests(seed: seed, world: world)
    let wall = world.clock.wallMillis()
    let overage = outcomes.reduce(MicroUSD.zero) { $0 + MicroUSD($1.event.overageMicroUSD ?? 0) }
    #expect(overage > .zero, "the provider did report more than the worst case")
    for (account, hard) in Self.caps {
      let parts = account.split(separator: "@")
      let s = try #require(ledger.snap(String(parts[0]), String(parts[1]), wall: wall))
      #expect(s.spent <= hard + overage, "\(account): \(s.spent) > \(hard) + overages \(overage)")
    }
    // Every overage is visible on its attempt, with the scopes it went to.
    let over = outcomes.flatMap(\.event.attempts).filter { ($0.overageMicroUSD ?? 0) > 0 }
    #expect(!over.isEmpty && over.allSatisfy { !($0.chargedScopes ?? []).isEmpty })
    #expect(outcomes.filter { ($0.event.overageMicroUSD ?? 0) > 0 }.allSatisfy { $0.event.warnings.contains { $0.hasPrefix("budget_overage:") } })
  }
}
