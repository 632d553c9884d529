import Synchronization
import Testing

@testable import SwitchboardCore

@Suite("Routing strategies")
struct RoutingStrategyTests {
  let stats = CandidateStatsBoard()
  var context: StrategyContext {
    StrategyContext(routeName: "r", request: Fixture.request(), estimatedInputTokens: 10, stats: stats)
  }

  func planned(_ ref: CandidateRef, cost: Double?, weight: Double = 1) -> PlannedCandidate {
    PlannedCandidate(spec: CandidateSpec(ref, weight: weight), info: Fixture.info(), worstCaseCost: cost)
  }
  var three: [PlannedCandidate] { [planned(Fixture.a, cost: 0.3), planned(Fixture.b, cost: 0.1), planned(Fixture.c, cost: 0.2)] }

  @Test func priorityKeepsConfigOrder() {
    #expect(PriorityStrategy().rank(three, context: context).map(\.ref) == [Fixture.a, Fixture.b, Fixture.c])
  }

  @Test func roundRobinRotatesTheStart() {
    let s = RoundRobinStrategy()
    let firsts = (0..<6).map { _ in s.rank(three, context: context).map(\.ref) }
    #expect(firsts[0] == [Fixture.a, Fixture.b, Fixture.c])
    #expect(firsts[1] == [Fixture.b, Fixture.c, Fixture.a])
    #expect(firsts[2] == [Fixture.c, Fixture.a, Fixture.b])
    #expect(firsts[3] == firsts[0])
  }

  @Test func weightedIsSeededAndProportional() {
    let cands = [planned(Fixture.a, cost: 1, weight: 3), planned(Fixture.b, cost: 1, weight: 1), planned(Fixture.c, cost: 1, weight: 0)]
    let s1 = WeightedStrategy(seed: 42), s2 = WeightedStrategy(seed: 42), s3 = WeightedStrategy(seed: 43)
    let seq1 = (0..<200).map { _ in s1.rank(cands, context: context).map(\.ref) }
    let seq2 = (0..<200).map { _ in s2.rank(cands, context: context).map(\.ref) }
    let seq3 = (0..<200).map { _ in s3.rank(cands, context: context).map(\.ref) }
    #expect(seq1 == seq2)
    #expect(seq1 != seq3)
    let aFirst = seq1.filter { $0.first == Fixture.a }.count
    #expect((120...180).contains(aFirst), "a first \(aFirst)/200, expected about 150")
    #expect(seq1.allSatisfy { $0.first != Fixture.c && $0.count == 3 }, "weight 0 is never first but still a fallback")
    #expect(s1.rank(cands, context: context).first?.score != nil)
  }

  @Test func latencyExploresUntriedThenFastestEMA() {
    for _ in 0..<5 { stats.end(Fixture.a, success: true, latency: .milliseconds(400)) }
    for _ in 0..<5 { stats.end(Fixture.b, success: true, latency: .milliseconds(100)) }
    let ranked = LatencyStrategy().rank(three, context: context)
    #expect(ranked.map(\.ref) == [Fixture.c, Fixture.b, Fixture.a])
    #expect(ranked[0].score == nil)
    #expect(ranked[1].score.map { abs($0 - 100) < 0.01 } == true)
    // EMA follows recent behaviour: b slows down, a speeds up.
    for _ in 0..<30 { stats.end(Fixture.b, success: true, latency: .milliseconds(900)) }
    for _ in 0..<30 { stats.end(Fixture.c, success: true, latency: .milliseconds(200)) }
    #expect(LatencyStrategy().rank(three, context: context).map(\.ref) == [Fixture.c, Fixture.a, Fixture.b])
  }

  @Test func costCheapestWorstCaseFirstUnknownLast() {
    let cands = [planned(Fixture.a, cost: nil), planned(Fixture.b, cost: 0.2), planned(Fixture.c, cost: 0.1)]
    let ranked = CostStrategy().rank(cands, context: context)
    #expect(ranked.map(\.ref) == [Fixture.c, Fixture.b, Fixture.a])
    #expect(ranked.map(\.score) == [0.1, 0.2, nil])
  }

  @Test func leastBusyFewestInFlight() {
    stats.begin(Fixture.a); stats.begin(Fixture.a); stats.begin(Fixture.c)
    let ranked = LeastBusyStrategy().rank(three, context: context)
    #expect(ranked.map(\.ref) == [Fixture.b, Fixture.c, Fixture.a])
    #expect(ranked.map(\.score) == [0, 1, 2])
  }

  @Test func scoreWeighsCostLatencyReliability() {
    // Untried: cost decides (b cheapest).
    #expect(ScoreStrategy(weights: ScoreWeights()).rank(three, context: context).first?.ref == Fixture.b)
    // b becomes unreliable and slow: it drops.
    for _ in 0..<10 { stats.end(Fixture.b, success: false, latency: .milliseconds(3000)) }
    for _ in 0..<10 { stats.end(Fixture.c, success: true, latency: .milliseconds(100)) }
    let ranked = ScoreStrategy(weights: ScoreWeights()).rank(three, context: context)
    #expect(ranked.first?.ref == Fixture.c)
    #expect(ranked.last?.ref == Fixture.b)
    #expect(ranked.allSatisfy { ($0.score ?? -1) >= 0 && ($0.score ?? 2) <= 1 })
    // All weight on cost: cheapest first regardless.
    var w = ScoreWeights(); w.cost = 1; w.latency = 0; w.reliability = 0
    #expect(ScoreStrategy(weights: w).rank(three, context: context).map(\.ref) == [Fixture.b, Fixture.c, Fixture.a])
  }

  @Test(arguments: StrategyKind.allCases)
  func everyBuiltinIsMadeAndRecordedInTheEvent(kind: StrategyKind) async throws {
    let world = TestWorld(routes: [Fixture.route("r", strategy: kind)],
                          adapters: [ScriptedAdapter("a"), ScriptedAdapter("b"), ScriptedAdapter("c")])
    let o = try await world.complete(Fixture.request())
    #expect(o.event.strategy == kind.rawValue)
    #expect(o.value != nil)
    #expect(o.event.candidates.filter(\.eligible).map(\.rank).sorted() == [1, 2, 3])
    if kind == .score || kind == .cost {
      #expect(o.event.candidates.allSatisfy { $0.score != nil }, "scores are recorded")
    }
  }
}

/// A custom strategy: reverse order; blocks a candidate on its first failure.
final class ReverseBlocking: RoutingStrategy {
  let successes = Mutex<[CandidateRef]>([])
  let failures = Mutex<[ReasonCode]>([])
  var name: String { "reverse_blocking" }
  func rank(_ candidates: [PlannedCandidate], context: StrategyContext) -> [PlannedCandidate] { candidates.reversed() }
  func onSuccess(_ candidate: CandidateRef, latency: Duration) { successes.withLock { $0.append(candidate) } }
  func onFailure(_ candidate: CandidateRef, failure: ProviderFailure) -> FailureDirective {
    failures.withLock { $0.append(failure.reason) }
    return .block
  }
}

@Suite("Custom strategy")
struct CustomStrategyTests {
  @Test func selectOnSuccessOnFailureBlock() async throws {
    let strategy = ReverseBlocking()
    var route = Fixture.route()
    route.customStrategy = strategy
    let c = ScriptedAdapter("c", script: [.fail(failure(.provider5xx, status: 503)), .fail(failure(.provider5xx, status: 503))])
    let world = TestWorld(routes: [route], adapters: [ScriptedAdapter("a"), ScriptedAdapter("b"), c])
    let o = try await world.complete(Fixture.request())
    #expect(o.event.strategy == "reverse_blocking")
    // `block` goes straight on: no in-place retry of the blocked candidate.
    #expect(o.tried.map(\.provider) == ["c", "b"])
    #expect(o.value?.served == Fixture.b)
    #expect(strategy.successes.withLock { $0 } == [Fixture.b])
    #expect(strategy.failures.withLock { $0 } == [.provider5xx])
    // `block` opened c's circuit after a single failure (threshold is 3).
    #expect(world.router.health.isBlocked(CircuitKey(Fixture.c, keyFingerprint: "none"), now: world.clock.now()))
    let next = try await world.complete(Fixture.request())
    #expect(next.event.candidates.first { $0.provider == "c" }?.rejection == .circuitOpen)
    #expect(next.value?.served == Fixture.b)
  }
}
