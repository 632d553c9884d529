import Testing

@testable import SwitchboardCore

/// The ways the hard cap broke on the old code (issue 10), each reproduced.
@Suite("Budget breaks")
struct BudgetBreaksTests {
  /// Break 1: `provider/model` ran under a synthetic route with no budget at all.
  @Test func anExplicitTargetRunsUnderTheDirectPolicyAndTheTenantAndDaemonBudgets() async throws {
    var route = Fixture.route("r", [Fixture.a])
    route.budget.perRoute.daily = BudgetLimit(softUSD: nil, hardUSD: 1)
    var budgets = BudgetConfiguration()
    budgets.daemon.daily = BudgetLimit(softUSD: nil, hardUSD: 0.0005)
    let a = UsageAdapter("a") { _, _ in Usage(inputTokens: 37, outputTokens: 50) }
    let world = TestWorld(routes: [route], adapters: [a], ledger: InMemoryBudgetLedger(), budgets: budgets)
    // Each reserves 63×1 + 50×2 = 163 µUSD and costs 37 + 100 = 137; the daemon-wide cap is 500 µUSD.
    var served = 0
    for i in 0..<10 {
      var req = Fixture.request(maxTokens: 50)
      if i % 2 == 1 { req.route = nil; req.explicitTarget = Fixture.a }
      if try await world.complete(req).value != nil { served += 1 }
    }
    #expect(served == 3, "the daemon cap holds for explicit targets too (served \(served))")
    let direct = try await world.complete(ChatRequest(explicitTarget: Fixture.a, messages: [ChatMessage(role: .user, content: "x")], maxTokens: 50))
    #expect(direct.error?.reason == .budgetExhausted)
    #expect(direct.event.budgetScopes.contains("daemon@daily") && direct.event.budgetScopes.contains("route:direct@daily"))

    // And it can be switched off.
    budgets.direct.enabled = false
    let off = TestWorld(routes: [route], adapters: [a], budgets: budgets)
    let refused = try await off.complete(ChatRequest(explicitTarget: Fixture.a, messages: [ChatMessage(role: .user, content: "x")]))
    #expect(refused.error?.code == .permissionDenied && refused.error?.reason.rawValue == "direct_disabled")
  }

  /// Break 2: an unknown price reserved $0 and settled $0 (40 of 40 served under a $0.000001 cap).
  @Test func anUnknownPriceUnderAHardCapIsRejectedBeforeTheNetwork() async throws {
    let unpriced = CandidateRef(provider: "a", model: "mystery")
    var route = Fixture.route("r", [unpriced])
    route.budget.perRoute.daily = BudgetLimit(softUSD: nil, hardUSD: 0.000001)
    let a = UsageAdapter("a") { _, _ in Usage(inputTokens: 1_000, outputTokens: 1_000) }
    let world = TestWorld(routes: [route], adapters: [a])
    var served = 0
    for _ in 0..<40 {
      let o = try await world.complete(Fixture.request())
      if o.value != nil { served += 1 }
      #expect(o.event.candidates.first?.rejection == .priceUnknown)
    }
    #expect(served == 0 && a.callCount == 0)

    // With an assumed price it is budgeted like any other model: the cap still bites.
    var catalog = Fixture.catalog
    var info = ModelInfo(contextWindow: 100_000, maxOutputTokens: 4096)
    info.assumedInputPerMillion = 1; info.assumedOutputPerMillion = 2
    catalog = ModelCatalog(instanceEntries: [unpriced: info, Fixture.a: Fixture.info()])
    route.budget.perRoute.daily = BudgetLimit(softUSD: nil, hardUSD: 0.01)
    let assumed = TestWorld(routes: [route], adapters: [a], catalog: catalog)
    var ok = 0
    for _ in 0..<10 { if try await assumed.complete(Fixture.request(maxTokens: 1_000)).value != nil { ok += 1 } }
    // 1,000 in × 1 + 1,000 out × 2 = 3,000 µUSD charged each; 10,000 µUSD cap.
    #expect(ok == 3)
  }

  /// Break 3: a stream cut after 50 deltas settled $0.0.
  @Test func aCutStreamIsChargedWhatItConsumed() async throws {
    let cut = ScriptedAdapter("a", script: [.cut(delivered: 50)])
    var route = Fixture.route("r", [Fixture.a])
    route.onStreamFailure = .error
    let ledger = InMemoryBudgetLedger()
    let world = TestWorld(routes: [route], adapters: [cut], ledger: ledger)
    let o = try await world.complete(Fixture.request(stream: true, maxTokens: 500), sink: CollectingSink().sink)
    #expect(o.value == nil)
    let attempt = try #require(o.tried.first)
    let charged = MicroUSD(attempt.chargedMicroUSD ?? 0)
    // At least the 50 delivered deltas at 2 µUSD each plus the input estimate at 1 µUSD a token.
    #expect(charged >= MicroUSD(Int64(100 + o.event.attempts[0].estimatedInputTokens)))
    #expect(attempt.usage.outputTokens >= 50)
    #expect(MicroUSD(o.event.totalSpendMicroUSD ?? 0) == charged)
    #expect(ledger.snapshotNow(wallMillis: world.clock.wallMillis()).first { $0.scope == "route:r" }?.spent == charged)
    // A connection refused before anything was sent costs nothing.
    let refused = ScriptedAdapter("a", script: [.fail(failure(.connectFailed))])
    let w2 = TestWorld(routes: [Fixture.route("r", [Fixture.a])], adapters: [refused])
    #expect(try await w2.complete(Fixture.request()).tried.first?.chargedMicroUSD == 0)
    // A request cancelled while the provider was working is charged its input.
    let hang = ScriptedAdapter("a", script: [.hang])
    let ledger3 = InMemoryBudgetLedger()
    let w3 = TestWorld(routes: [Fixture.route("r", [Fixture.a])], adapters: [hang], ledger: ledger3)
    let router = w3.router
    let task = Task { await router.complete(Fixture.request()) }
    try await w3.driver.run { try await w3.clock.sleep(for: .milliseconds(200)) }
    task.cancel()
    let cancelled = await task.value
    #expect(cancelled.event.outcome == .cancelled)
    #expect((cancelled.event.totalSpendMicroUSD ?? 0) > 0)
    #expect(ledger3.openReservations.isEmpty)
  }

  /// Break 4: usage above the estimate took a $10 hard cap to $15.08 under 16 concurrent requests.
  @Test func usageAboveTheHeuristicEstimateCannotCrossTheCap() async throws {
    // A prompt of rare characters: ~1 token per byte, far above 3.5 bytes a token.
    let prompt = String(repeating: "ø", count: 3_000)
    let expensive = ModelInfo(inputPerMillion: 200, outputPerMillion: 600, contextWindow: 100_000, maxOutputTokens: 4096)
    let catalog = ModelCatalog(instanceEntries: [Fixture.a: expensive])
    var route = Fixture.route("r", [Fixture.a])
    route.budget.perRoute.daily = BudgetLimit(softUSD: nil, hardUSD: 10)
    // The provider reports one token per byte sent (the most an honest BPE can) and every output token.
    let a = UsageAdapter("a", latency: { _ in .seconds(1) }) { call, _ in
      Usage(inputTokens: ReservationEstimator.inputTokenBound(call.request), outputTokens: call.request.maxTokens ?? 0)
    }
    for estimator in [InputEstimator.exact, .heuristic] {
      var budgets = BudgetConfiguration()
      budgets.estimator = estimator
      let ledger = CheckingLedger()
      let world = TestWorld(routes: [route], adapters: [a], catalog: catalog, ledger: ledger, budgets: budgets)
      let router = world.router
      let outcomes = try await world.driver.run(16) { _ in
        await router.complete(ChatRequest(route: "r", messages: [ChatMessage(role: .user, content: prompt)], maxTokens: 1_000, tenant: "t1"))
      }
      let spent = try #require(ledger.snap("route:r", wall: world.clock.wallMillis())).spent
      let overage = outcomes.reduce(MicroUSD.zero) { $0 + MicroUSD($1.event.overageMicroUSD ?? 0) }
      switch estimator {
      case .exact:
        #expect(spent <= usd(10), "exact estimator: \(spent) > $10")
        #expect(overage == .zero)
      case .heuristic:
        // The documented trade-off: it can overshoot, but only by the recorded overages, and visibly.
        #expect(overage > .zero)
        #expect(spent <= usd(10) + overage)
        #expect(outcomes.contains { $0.event.attempts.contains { ($0.overageMicroUSD ?? 0) > 0 } })
      }
    }
  }

  /// Break 5: the tenant was whatever the client wrote.
  @Test func aPeerInventingTenantsCannotEscapeItsOwnCap() async throws {
    var route = Fixture.route("r", [Fixture.a])
    route.budget.perTenant.daily = BudgetLimit(softUSD: nil, hardUSD: 0.0004)
    var budgets = BudgetConfiguration()
    var acme = TenantPolicy(name: "acme")
    acme.uids = [1000]
    acme.subTenants = ["team-a"]
    acme.budget.daily = BudgetLimit(softUSD: nil, hardUSD: 0.0007)
    budgets.tenants.tenants["acme"] = acme
    var other = TenantPolicy(name: "other")
    other.uids = [2000]
    budgets.tenants.tenants["other"] = other
    let a = UsageAdapter("a") { _, _ in Usage(inputTokens: 50, outputTokens: 50) }
    let world = TestWorld(routes: [route], adapters: [a], budgets: budgets)
    let router = world.router
    let peer = RequestContext(peerUID: 1000)
    func send(_ tenant: String?) async throws -> RoutedOutcome {
      var req = Fixture.request(maxTokens: 50)
      req.tenant = tenant
      let r = req
      return try await world.driver.run { await router.complete(r, context: peer) }
    }
    // Reserve 163, cost 150 µUSD each: two fit under route×tenant (400), the third is refused.
    #expect(try await send(nil).value != nil)
    #expect(try await send(nil).value != nil)
    #expect(try await send(nil).error?.reason == .budgetExhausted)
    // Inventing fresh tenants (or naming another caller's) is refused outright.
    for name in ["fresh-0", "fresh-1", "fresh-2", "fresh-3", "fresh-4", "other"] {
      let o = try await send(name)
      #expect(o.error?.code == .permissionDenied && o.error?.reason == TenantResolver.notAllowed)
      #expect(o.event.tenant == "acme" && !o.event.message.contains(name))
    }
    // A listed sub-tenant has its own route×tenant scope, but is charged to acme's as
    // well, so it cannot be used to escape acme's exhausted cap.
    let last = try await send("team-a")
    #expect(last.error?.reason == .budgetExhausted)
    #expect(last.event.subTenant == "team-a")
    #expect(Set(last.event.budgetScopes).isSuperset(of: ["tenant:acme@daily", "route:r/tenant:acme@daily", "route:r/tenant:acme/team-a@daily"]))
    #expect(a.callCount == 2)

    // 90,000 invented names grow neither the ledger nor anything else.
    let before = await router.ledger.snapshot(scopes: nil, wallMillis: world.clock.wallMillis()).count
    for i in 0..<90_000 {
      var req = Fixture.request()
      req.tenant = "invented-\(i)"
      _ = await router.complete(req, context: RequestContext(peerUID: 3000))
    }
    let after = await router.ledger.snapshot(scopes: nil, wallMillis: world.clock.wallMillis())
    #expect(after.count == before, "ledger accounts grew from \(before) to \(after.count)")
  }

  @Test func theResolverMapsPeersAndRulesOnSubTenants() throws {
    var config = TenantConfiguration()
    var acme = TenantPolicy(name: "acme"); acme.uids = [1000]; acme.gids = [50]; acme.subTenants = ["a"]
    var open = TenantPolicy(name: "open"); open.gids = [60]; open.allowAsserted = true
    config.tenants = ["acme": acme, "open": open]
    let r = TenantResolver(config)
    #expect(r.tenant(of: .peer(uid: 1000, gids: [])).name == "acme")
    #expect(r.tenant(of: .peer(uid: 7, gids: [50])).name == "acme")
    #expect(r.tenant(of: .peer(uid: 7, gids: [1])).name == "uid:7")
    #expect(try r.resolve(.peer(uid: 1000, gids: []), asserted: "acme").get().subTenant == nil)
    #expect(try r.resolve(.peer(uid: 1000, gids: []), asserted: "a").get().subTenantListed == true)
    #expect(try r.resolve(.peer(uid: 9, gids: [60]), asserted: "anything").get() == ResolvedTenant(name: "open", subTenant: "anything"))
    for (caller, asserted) in [(CallerIdentity.peer(uid: 1000, gids: []), "b"), (.peer(uid: 7, gids: []), "acme"),
                               (.peer(uid: 7, gids: []), "uid:8"), (.token("x"), "acme"),
                               (.peer(uid: 1000, gids: []), String(repeating: "a", count: 200))] {
      guard case .failure(let e) = r.resolve(caller, asserted: asserted) else { Issue.record("\(caller) as \(asserted) allowed"); continue }
      #expect(e.code == .permissionDenied && e.reason == TenantResolver.notAllowed)
    }
  }

  @Test func onSoftCapCheapestReranksAndDenyRefuses() async throws {
    var route = Fixture.route("r", [Fixture.c, Fixture.a])  // c is dearer and first
    route.budget.perRoute.daily = BudgetLimit(softUSD: 0.0001, hardUSD: 1)
    route.onSoftCap = .cheapest
    // c: reserves 63×3 + 50×6 = 489, costs 450; a: reserves 163, costs 150 (µUSD).
    let a = UsageAdapter("a") { _, _ in Usage(inputTokens: 50, outputTokens: 50) }
    let c = UsageAdapter("c") { _, _ in Usage(inputTokens: 50, outputTokens: 50) }
    let world = TestWorld(routes: [route], adapters: [a, c])
    #expect(try await world.complete(Fixture.request(maxTokens: 50)).value?.served == Fixture.c)  // under the soft cap
    let over = try await world.complete(Fixture.request(maxTokens: 50))
    #expect(over.value?.served == Fixture.a && over.event.warnings.contains("soft_cap_cheapest"))

    route.onSoftCap = .deny
    route.budget.perRoute.daily = BudgetLimit(softUSD: 0.0005, hardUSD: 1)
    let denyWorld = TestWorld(routes: [route], adapters: [a, c])
    #expect(try await denyWorld.complete(Fixture.request(maxTokens: 50)).value != nil)
    #expect(try await denyWorld.complete(Fixture.request(maxTokens: 50)).error?.code == .resourceExhausted)
  }

  @Test func theReservationIsATrueUpperBound() {
    let req = ChatRequest(route: "r", messages: [ChatMessage(role: .system, content: "be brief"),
                                                 ChatMessage(role: .user, content: "注文🙂 héllo")],
                          tools: [ToolSpec(name: "lookup")], maxTokens: 10)
    let bound = ReservationEstimator.inputTokenBound(req)
    let bytes = "be brief".utf8.count + "注文🙂 héllo".utf8.count + "lookup".utf8.count + "{\"type\":\"object\"}".utf8.count
    #expect(bound >= bytes + 2 * ReservationEstimator.perMessageOverhead)
    #expect(TokenEstimator.estimateInputTokens(req) < bound)
    let info = ModelInfo(inputPerMillion: 1, outputPerMillion: 2, cacheWritePerMillion: 1.25, maxOutputTokens: 4096)
    #expect(ReservationEstimator.outputTokens(req, info: info) == 10)
    var noMax = req; noMax.maxTokens = nil
    #expect(ReservationEstimator.outputTokens(noMax, info: info) == 4096, "without max_tokens the model's max_output is reserved")
    // The worst case covers any split of the input into cached / cache-write / plain tokens.
    let worst = try! #require(ReservationEstimator.worstCase(req, info: info, inputTokens: bound))
    let prices = try! #require(info.budgetPrices)
    for u in [Usage(inputTokens: bound, outputTokens: 10), Usage(inputTokens: bound, outputTokens: 10, cacheWriteTokens: bound),
              Usage(inputTokens: bound, outputTokens: 10, cachedInputTokens: bound / 2)] {
      #expect(prices.cost(of: u) <= worst)
    }
  }
}
