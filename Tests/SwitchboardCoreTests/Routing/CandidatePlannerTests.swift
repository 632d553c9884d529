import Testing

@testable import SwitchboardCore

@Suite("CandidatePlanner hard caps")
struct CandidatePlannerTests {
  let health = HealthBoard()
  let stats = CandidateStatsBoard()
  let ledger = InMemoryBudgetLedger()

  func plan(_ route: RoutePolicy, _ request: ChatRequest, catalog: ModelCatalog, scopes: [BudgetScope] = [],
            known: Set<String> = ["a", "b", "c"], fingerprints: @escaping @Sendable (String) -> [String] = { _ in [] }) -> Plan {
    let state = ledger.snapshotNow(scopes: scopes, wallMillis: 1_767_225_600_000)
    let inputs = PlanningInputs(route: route, request: request, catalog: catalog, health: health, stats: stats,
                                budgetScopes: scopes, budgetState: state, keyFingerprints: fingerprints, knownProviders: known,
                                now: Instant(nanoseconds: 0), wallMillis: 1_767_225_600_000)
    return CandidatePlanner.plan(inputs, strategy: PriorityStrategy())
  }

  func rejection(_ p: Plan, _ ref: CandidateRef) -> ReasonCode? {
    p.evaluations.first { $0.provider == ref.provider && $0.model == ref.model }?.rejection
  }

  @Test func capabilityMissing() {
    let catalog = ModelCatalog(instanceEntries: [Fixture.a: Fixture.info(caps: [.streaming]), Fixture.b: Fixture.info(caps: [.streaming, .tools])])
    var req = Fixture.request()
    req.tools = [ToolSpec(name: "lookup")]
    let p = plan(Fixture.route("r", [Fixture.a, Fixture.b]), req, catalog: catalog)
    #expect(rejection(p, Fixture.a) == .capabilityMissing)
    #expect(p.evaluations.first?.detail.contains("tools") == true)
    #expect(p.ordered.map(\.ref) == [Fixture.b])
    // Route-level requirements and implied ones (json schema, streaming) count too.
    var route = Fixture.route("r", [Fixture.a, Fixture.b])
    route.constraints.required = [.vision]
    #expect(plan(route, Fixture.request(), catalog: catalog).ordered.isEmpty)
    var js = Fixture.request()
    js.responseFormat = .jsonSchema(name: "x", schema: "{}", strict: true)
    #expect(rejection(plan(Fixture.route("r", [Fixture.a]), js, catalog: catalog), Fixture.a) == .capabilityMissing)
  }

  @Test func contextWindowIsPromptPlusMaxTokens() {
    let req = Fixture.request(maxTokens: 1000, text: String(repeating: "word ", count: 200))
    let estimated = TokenEstimator.estimateInputTokens(req)
    let exact = ModelCatalog(instanceEntries: [Fixture.a: Fixture.info(window: estimated + 1000),
                                               Fixture.b: Fixture.info(window: estimated + 999)])
    let p = plan(Fixture.route("r", [Fixture.a, Fixture.b]), req, catalog: exact)
    #expect(rejection(p, Fixture.a) == nil)
    #expect(rejection(p, Fixture.b) == .contextTooSmall)
  }

  @Test func worstCaseCostAgainstRequestAndRouteCaps() {
    // a: 1$/M in, 2$/M out. 100 max tokens → 0.0002 out + the input bound (UTF-8 bytes + overheads).
    let req = Fixture.request(maxTokens: 100)
    let worstA = ReservationEstimator.worstCase(req, info: Fixture.info(), inputTokens: ReservationEstimator.inputTokenBound(req))!.usd
    var capped = req
    capped.constraints.maxCostUSD = worstA  // exactly at the cap passes
    #expect(rejection(plan(Fixture.route(), capped, catalog: Fixture.catalog), Fixture.a) == nil)
    #expect(rejection(plan(Fixture.route(), capped, catalog: Fixture.catalog), Fixture.b) == .overCostCap)
    var route = Fixture.route()
    route.constraints.maxCostUSD = worstA * 0.99
    let p = plan(route, req, catalog: Fixture.catalog)
    #expect(p.ordered.isEmpty)
    #expect(p.evaluations.allSatisfy { $0.rejection == .overCostCap && $0.worstCaseCostUSD != nil })
    // The lower of the two caps wins.
    var both = req
    both.constraints.maxCostUSD = 1
    #expect(plan(route, both, catalog: Fixture.catalog).ordered.isEmpty)
  }

  @Test func observedP95AgainstSLA() {
    for _ in 0..<20 { stats.end(Fixture.a, success: true, latency: .milliseconds(900)) }
    for _ in 0..<20 { stats.end(Fixture.b, success: true, latency: .milliseconds(100)) }
    var req = Fixture.request()
    req.constraints.latencySLA = .milliseconds(500)
    var route = Fixture.route()
    route.constraints.slaTrialInterval = nil  // trials: LatencyWindowTests
    let p = plan(route, req, catalog: Fixture.catalog)
    #expect(rejection(p, Fixture.a) == .overLatencySLA)
    #expect(rejection(p, Fixture.b) == nil)
    #expect(rejection(p, Fixture.c) == nil)  // untried: no p95, not rejected
  }

  @Test func openCircuitOnEveryKey() {
    health.trip(CircuitKey(Fixture.a, keyFingerprint: "none"), now: Instant(nanoseconds: 0))
    #expect(rejection(plan(Fixture.route(), Fixture.request(), catalog: Fixture.catalog), Fixture.a) == .circuitOpen)
    // With two keys, one open circuit is not enough.
    let two: @Sendable (String) -> [String] = { $0 == "b" ? ["k1", "k2"] : [] }
    health.trip(CircuitKey(Fixture.b, keyFingerprint: "k1"), now: Instant(nanoseconds: 0))
    #expect(rejection(plan(Fixture.route(), Fixture.request(), catalog: Fixture.catalog, fingerprints: two), Fixture.b) == nil)
    health.trip(CircuitKey(Fixture.b, keyFingerprint: "k2"), now: Instant(nanoseconds: 0))
    #expect(rejection(plan(Fixture.route(), Fixture.request(), catalog: Fixture.catalog, fingerprints: two), Fixture.b) == .circuitOpen)
  }

  @Test func exhaustedBudget() {
    let scope = BudgetScope(key: "route:r/tenant:t1", limit: BudgetLimit(softUSD: nil, hardUSD: 0.01))
    guard case .reserved(let r, _) = ledger.reserveNow(MicroUSD(usd: 0.01), scopes: [scope], requestID: "x", wallMillis: 1_767_225_600_000) else {
      Issue.record("reserve failed"); return
    }
    _ = ledger.settleNow(r, actual: MicroUSD(usd: 0.01), wallMillis: 1_767_225_600_000)
    let p = plan(Fixture.route(), Fixture.request(), catalog: Fixture.catalog, scopes: [scope])
    #expect(p.ordered.isEmpty)
    #expect(p.evaluations.allSatisfy { $0.rejection == .budgetExhausted })
  }

  @Test func unknownPriceWhenRequired() {
    let catalog = ModelCatalog(instanceEntries: [Fixture.a: Fixture.info(input: nil, output: nil), Fixture.b: Fixture.info()])
    var route = Fixture.route("r", [Fixture.a, Fixture.b])
    #expect(rejection(plan(route, Fixture.request(), catalog: catalog), Fixture.a) == nil)
    route.constraints.requireKnownPrices = true
    #expect(rejection(plan(route, Fixture.request(), catalog: catalog), Fixture.a) == .priceUnknown)
    // A cost cap also demands a price: an unknown one cannot be shown to fit.
    var req = Fixture.request()
    req.constraints.maxCostUSD = 10
    #expect(rejection(plan(Fixture.route("r", [Fixture.a, Fixture.b]), req, catalog: catalog), Fixture.a) == .priceUnknown)
  }

  @Test func unknownProviderAndEvaluationOrder() {
    let p = plan(Fixture.route(), Fixture.request(), catalog: Fixture.catalog, known: ["b", "c"])
    #expect(rejection(p, Fixture.a) == .unknownProvider)
    #expect(p.evaluations.map(\.provider) == ["a", "b", "c"])
    #expect(p.evaluations.filter(\.eligible).map(\.rank) == [1, 2])
  }

  @Test func rejectionsReachTheDecisionEvent() async throws {
    let catalog = ModelCatalog(instanceEntries: [Fixture.a: Fixture.info(window: 50), Fixture.b: Fixture.info()])
    let world = TestWorld(routes: [Fixture.route("r", [Fixture.a, Fixture.b])],
                          adapters: [ScriptedAdapter("a"), ScriptedAdapter("b")], catalog: catalog)
    let o = try await world.complete(Fixture.request(maxTokens: 100))
    #expect(o.value?.served == Fixture.b)
    #expect(o.event.candidates.first { $0.provider == "a" }?.rejection == .contextTooSmall)
    #expect(o.event.candidates.first { $0.provider == "a" }?.detail.isEmpty == false)
  }
}
