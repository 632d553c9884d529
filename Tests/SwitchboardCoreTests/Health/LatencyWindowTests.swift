import Testing

@testable import SwitchboardCore

@Suite("Latency windows, SLA trials, exploration")
struct LatencyWindowTests {
  let health = HealthBoard(seed: 1)

  func plan(_ route: RoutePolicy, _ request: ChatRequest, stats: CandidateStatsBoard, now: Instant) -> Plan {
    let inputs = PlanningInputs(route: route, request: request, catalog: Fixture.catalog, health: health, stats: stats,
                                budgetScopes: [], keyFingerprints: { _ in [] }, knownProviders: ["a", "b", "c"],
                                now: now, wallMillis: 1_767_225_600_000)
    return CandidatePlanner.plan(inputs, strategy: PriorityStrategy())
  }

  @Test func samplesAgeOutOfTheWindow() {
    let clock = VirtualClock()
    let stats = CandidateStatsBoard(clock: clock, window: .seconds(300))
    for _ in 0..<20 { stats.end(Fixture.a, success: true, latency: .milliseconds(900)) }
    #expect(stats.observation(Fixture.a).latencyP95 == .milliseconds(900))
    clock.advance(by: .seconds(200))
    for _ in 0..<3 { stats.end(Fixture.a, success: true, latency: .milliseconds(100)) }
    #expect(stats.observation(Fixture.a).samples == 23)
    clock.advance(by: .seconds(101))  // the 900 ms samples are 301 s old now
    let o = stats.observation(Fixture.a)
    #expect(o.samples == 3)
    #expect(o.latencyP95 == .milliseconds(100))
    #expect(o.latencyEMA == .milliseconds(100))
    clock.advance(by: .seconds(300))
    #expect(stats.observation(Fixture.a).latencyP95 == nil, "no recent sample: like untried")
    #expect(stats.observation(Fixture.a).attempts == 0)  // begin() was never called here
  }

  @Test func anSLAExcludedCandidateGetsOneTrialPerInterval() {
    let clock = VirtualClock()
    let stats = CandidateStatsBoard(clock: clock)
    for _ in 0..<20 { stats.end(Fixture.a, success: true, latency: .milliseconds(900)) }
    var route = Fixture.route()
    route.constraints.latencySLA = .milliseconds(500)
    route.constraints.slaTrialInterval = .seconds(30)
    let t0 = clock.now()
    let first = plan(route, Fixture.request(), stats: stats, now: t0)
    #expect(first.ordered.first?.ref == Fixture.a, "the trial is tried first")
    let eval = first.evaluations.first { $0.provider == "a" }
    #expect(eval?.eligible == true)
    #expect(eval?.detail.hasPrefix("sla_trial") == true)
    // Within the interval: excluded again.
    for s in [1, 10, 29] {
      let p = plan(route, Fixture.request(), stats: stats, now: t0.advanced(by: .seconds(Int64(s))))
      #expect(p.evaluations.first { $0.provider == "a" }?.rejection == .overLatencySLA, "at \(s) s")
      #expect(p.ordered.map(\.ref) == [Fixture.b, Fixture.c])
    }
    #expect(plan(route, Fixture.request(), stats: stats, now: t0.advanced(by: .seconds(30))).ordered.first?.ref == Fixture.a)
    // No trials when turned off: 1,000 plans, never re-admitted (the old behaviour).
    route.constraints.slaTrialInterval = nil
    let admitted = (0..<1000).filter { i in
      plan(route, Fixture.request(), stats: stats, now: t0.advanced(by: .seconds(Int64(100 + i * 3600)))).ordered.contains { $0.ref == Fixture.a }
    }.count
    #expect(admitted == 0)
  }

  @Test func aTrialIsOnlyClaimedWhenEveryOtherCheckPasses() {
    let clock = VirtualClock()
    let stats = CandidateStatsBoard(clock: clock)
    for _ in 0..<20 { stats.end(Fixture.a, success: true, latency: .milliseconds(900)) }
    var route = Fixture.route()
    route.constraints.latencySLA = .milliseconds(500)
    let t0 = clock.now()
    health.recordFailure(CircuitKey(Fixture.a, keyFingerprint: "none"), class: .hard, retryAfter: nil, now: t0)
    let p = plan(route, Fixture.request(), stats: stats, now: t0)
    #expect(p.evaluations.first { $0.provider == "a" }?.rejection == .circuitOpen)
    #expect(stats.claimTrial(Fixture.a, interval: .seconds(30), now: t0), "the open circuit did not use up the trial")
  }

  @Test func latencyStrategyExploresAboutEpsilonOfRequests() {
    let stats = CandidateStatsBoard()
    for _ in 0..<10 {
      stats.end(Fixture.a, success: true, latency: .milliseconds(100))
      stats.end(Fixture.b, success: true, latency: .milliseconds(500))
      stats.end(Fixture.c, success: true, latency: .milliseconds(900))
    }
    let three = [Fixture.a, Fixture.b, Fixture.c].map { PlannedCandidate(spec: CandidateSpec($0), info: Fixture.info(), worstCaseCost: 0.1) }
    let context = StrategyContext(routeName: "r", request: Fixture.request(), estimatedInputTokens: 10, stats: stats)
    let greedy = LatencyStrategy()
    #expect((0..<1000).allSatisfy { _ in greedy.rank(three, context: context).first?.ref == Fixture.a },
            "ε = 0: never explores")
    let s = LatencyStrategy(exploration: 0.1, seed: 7)
    var firsts: [CandidateRef: Int] = [:]
    for _ in 0..<2000 { firsts[s.rank(three, context: context).first!.ref, default: 0] += 1 }
    let explored = (firsts[Fixture.b] ?? 0) + (firsts[Fixture.c] ?? 0)
    #expect((140...260).contains(explored), "explored \(explored)/2000, expected about 200")
    #expect((firsts[Fixture.b] ?? 0) > 40 && (firsts[Fixture.c] ?? 0) > 40, "both slower candidates get explored")
    // Same seed, same choices.
    let s1 = LatencyStrategy(exploration: 0.1, seed: 7), s2 = LatencyStrategy(exploration: 0.1, seed: 7)
    #expect((0..<200).map { _ in s1.rank(three, context: context).first!.ref } == (0..<200).map { _ in s2.rank(three, context: context).first!.ref })
  }
}
