import Foundation
import Testing

@testable import SwitchboardCore

/// The executor's hedging on the virtual clock with scripted providers: the race,
/// cancellation, budgets, retry budget, circuits, and the decision event.
@Suite("Executor: hedged requests")
struct HedgedRequestTests {
  static func route(_ refs: [CandidateRef] = [Fixture.a, Fixture.b, Fixture.c], afterMs: Int = 500, maxExtra: Int = 1) -> RoutePolicy {
    var r = Fixture.route("r", refs)
    r.timeouts.attempt = .seconds(5)
    r.timeouts.firstToken = .seconds(5)
    r.timeouts.idle = .seconds(5)
    r.hedge = HedgePolicy(delay: .fixed(.milliseconds(afterMs)), maxExtra: maxExtra)
    return r
  }

  static let t0 = Instant(nanoseconds: 0)
  static func at(_ ms: Int) -> Instant { t0.advanced(by: .milliseconds(ms)) }

  @Test func unaryHedgeWinsAndTheLoserIsCancelledAndSettledNotFailed() async throws {
    let a = ScriptedAdapter("a", script: [.ok("slow primary", after: .seconds(3))])
    let b = ScriptedAdapter("b", script: [.ok("fast hedge", after: .milliseconds(100))])
    var circuit = CircuitPolicy()
    circuit.failureThreshold = 1  // one failure would open a's circuit
    let ledger = InMemoryBudgetLedger()
    let world = TestWorld(routes: [Self.route()], adapters: [a, b, ScriptedAdapter("c")], circuit: circuit, ledger: ledger)
    let o = try await world.complete(Fixture.request())
    #expect(o.value?.served == Fixture.b)
    #expect(o.value?.response.content == "fast hedge")
    #expect(o.event.totalLatencyMs == 600, "hedge at 500 ms + its 100 ms, not the primary's 3 s")
    #expect(b.calls.map(\.at) == [Self.at(500)])
    let tried = o.tried
    #expect(tried.count == 2)
    #expect(tried[0].provider == "a" && tried[0].hedgeLost == true && tried[0].reason == .cancelled && tried[0].hedge == nil)
    #expect(tried[0].failureClass == nil, "a loser is not a failure of its provider")
    #expect(tried[1].provider == "b" && tried[1].outcome == .success && tried[1].hedge == true && tried[1].hedgeOf == 1)
    // Both attempts reserved and settled; the loser for what it consumed (input estimate: it reached the model).
    #expect(tried.allSatisfy { $0.reservedMicroUSD != nil && $0.chargedMicroUSD != nil })
    #expect((tried[0].chargedMicroUSD ?? 0) > 0)
    #expect(ledger.openReservations.isEmpty)
    let h = try #require(o.event.hedge)
    #expect(h.started == 1 && h.winnerAttempt == 2 && h.winnerIsHedge && h.delayMs == 500)
    #expect(h.extraCostMicroUSD == tried[0].chargedMicroUSD)
    #expect(o.event.totalSpendMicroUSD == (tried[0].chargedMicroUSD ?? 0) + (tried[1].chargedMicroUSD ?? 0))
    #expect(o.event.summary.contains("hedged=1 hedge_won=true"))
    #expect(!o.event.summary.contains("failures="), "a hedge loser is not a failure")
    // The loser is not a provider failure: a's circuit (threshold 1) is still closed.
    let snap = world.router.health.snapshot(now: world.clock.now()).first { $0.key.provider == "a" }
    #expect(snap == nil || snap?.consecutiveFailures == 0)
    #expect(world.router.health.admit(CircuitKey(Fixture.a, keyFingerprint: "none"), now: world.clock.now()) == .allowed)
  }

  @Test func noHedgeWhenTheFirstTokenComesBeforeTheDelay() async throws {
    let a = ScriptedAdapter("a", script: [.ok("quick", after: .milliseconds(200))])
    let b = ScriptedAdapter("b")
    let world = TestWorld(routes: [Self.route()], adapters: [a, b, ScriptedAdapter("c")])
    let o = try await world.complete(Fixture.request())
    #expect(o.value?.served == Fixture.a)
    #expect(b.calls.isEmpty)
    #expect(o.event.hedge == nil)
    #expect(o.tried.count == 1 && o.tried[0].hedge == nil)
  }

  @Test func thePrimaryFailingBeforeTheDelayFailsOverNormally() async throws {
    let a = ScriptedAdapter("a", script: [.fail(failure(.connectFailed), after: .milliseconds(10))])
    let b = ScriptedAdapter("b", script: [.ok("fallback", after: .milliseconds(100))])
    let world = TestWorld(routes: [Self.route()], adapters: [a, b, ScriptedAdapter("c")])
    let o = try await world.complete(Fixture.request())
    #expect(o.value?.served == Fixture.b)
    #expect(b.calls.map(\.at) == [Self.at(10)], "failover at once, not at the hedge delay")
    #expect(o.tried.allSatisfy { $0.hedge == nil })
    #expect(o.event.hedge == nil)
  }

  @Test func whenTheHedgeFailsThePrimaryContinues() async throws {
    let a = ScriptedAdapter("a", script: [.ok("primary after all", after: .milliseconds(1500))])
    let b = ScriptedAdapter("b", script: [.fail(failure(.provider5xx, status: 503), after: .milliseconds(100))])
    let c = ScriptedAdapter("c")
    let world = TestWorld(routes: [Self.route()], adapters: [a, b, c])
    let o = try await world.complete(Fixture.request())
    #expect(o.value?.served == Fixture.a)
    #expect(o.event.totalLatencyMs == 1500)
    #expect(c.calls.isEmpty, "max_extra 1: no second hedge")
    let failed = o.tried.first { $0.provider == "b" }
    #expect(failed?.outcome == .failed && failed?.reason == .provider5xx && failed?.hedge == true && failed?.hedgeLost == nil)
    #expect(o.event.hedge?.winnerIsHedge == false && o.event.hedge?.winnerAttempt == 1)
    #expect(o.event.hedge?.extraCostMicroUSD == failed?.chargedMicroUSD)
  }

  @Test func whenThePrimaryFailsTheHedgeContinues() async throws {
    let a = ScriptedAdapter("a", script: [.fail(failure(.provider5xx, status: 503), after: .milliseconds(700))])
    let b = ScriptedAdapter("b", script: [.ok("hedge serves", after: .milliseconds(1000))])
    let world = TestWorld(routes: [Self.route()], adapters: [a, b, ScriptedAdapter("c")])
    let o = try await world.complete(Fixture.request())
    #expect(o.value?.served == Fixture.b)
    #expect(o.event.totalLatencyMs == 1500)
    #expect(a.calls.count == 1, "no in-place retry while the hedge runs")
    #expect(o.tried.map(\.provider) == ["a", "b"])
    #expect(o.tried[0].reason == .provider5xx && o.tried[0].hedgeLost == nil)
  }

  @Test func bothSlowMaxExtraBoundsTheHedges() async throws {
    let slow = { (n: String) in ScriptedAdapter(n, then: .ok("slow \(n)", after: .seconds(4))) }
    let (a, b, c) = (slow("a"), slow("b"), slow("c"))
    let world = TestWorld(routes: [Self.route()], adapters: [a, b, c])
    let o = try await world.complete(Fixture.request())
    #expect(o.value?.served == Fixture.a, "the primary still answers first")
    #expect(o.event.totalLatencyMs == 4000)
    #expect(b.calls.count == 1 && c.calls.isEmpty, "max_extra 1: one hedge, however slow both are")
    #expect(o.event.hedge?.started == 1)

    let (a2, b2, c2) = (slow("a"), slow("b"), slow("c"))
    let world2 = TestWorld(routes: [Self.route(maxExtra: 2)], adapters: [a2, b2, c2])
    let o2 = try await world2.complete(Fixture.request())
    #expect(b2.calls.map(\.at) == [Self.at(500)] && c2.calls.map(\.at) == [Self.at(1000)])
    #expect(o2.event.hedge?.started == 2)
    #expect(o2.tried.filter { $0.hedgeLost == true }.count == 2)
  }

  /// Both first deltas come at the same virtual instant: exactly one attempt's
  /// deltas reach the client, never a mix.
  @Test(arguments: [900, 1000, 1100])
  func streamsNeverInterleave(primaryFirstDeltaMs: Int) async throws {
    // a's first delta at `primaryFirstDeltaMs` (3 chunks); b starts at 500 ms, first delta at 500 + 500 = 1000 ms:
    // 1000 is a tie at the same virtual instant.
    let a = ScriptedAdapter("a", script: [.ok("alpha one two three four five", after: .milliseconds(3 * primaryFirstDeltaMs), chunks: 3)])
    let b = ScriptedAdapter("b", script: [.ok("bravo six seven eight nine ten", after: .milliseconds(1500), chunks: 3)])
    let world = TestWorld(routes: [Self.route()], adapters: [a, b, ScriptedAdapter("c")])
    let sink = CollectingSink()
    let o = try await world.complete(Fixture.request(stream: true), sink: sink.sink)
    let served = try #require(o.value?.served)
    let refs = Set(sink.all.compactMap { if case .delta(_, _, let r) = $0 { return r } else { return nil } })
    #expect(refs == [served], "deltas of one attempt only")
    #expect(sink.restarts.isEmpty)
    #expect(sink.held == o.value?.response.content)
    if primaryFirstDeltaMs < 1000 { #expect(served == Fixture.a) }
    if primaryFirstDeltaMs > 1000 { #expect(served == Fixture.b) }
    #expect(o.tried.filter { $0.hedgeLost == true }.count == 1)
  }

  @Test func streamHedgeWinsBeforeAnyDeltaOfTheLoser() async throws {
    let a = ScriptedAdapter("a", script: [.ok("alpha one two three four five", after: .seconds(6), chunks: 3)])  // first delta at 2 s
    let b = ScriptedAdapter("b", script: [.ok("bravo six seven eight nine ten", after: .milliseconds(300), chunks: 3)])
    let world = TestWorld(routes: [Self.route()], adapters: [a, b, ScriptedAdapter("c")])
    let sink = CollectingSink()
    let o = try await world.complete(Fixture.request(stream: true), sink: sink.sink)
    #expect(o.value?.served == Fixture.b)
    #expect(sink.held == "bravo six seven eight nine ten")
    #expect(o.event.totalLatencyMs == 800)
    #expect(o.tried[0].hedgeLost == true && o.tried[0].firstTokenMs == nil)
  }

  @Test func aHedgeAtTheCapEdgeIsRefusedAndThePrimaryContinues() async throws {
    // The worst cases of a and b as the planner computes them.
    let probe = TestWorld(routes: [Self.route()], adapters: [ScriptedAdapter("a"), ScriptedAdapter("b"), ScriptedAdapter("c")])
    let plan = try await probe.complete(Fixture.request()).event.candidates
    let worstA = try #require(plan.first { $0.provider == "a" }?.worstCaseMicroUSD)
    let worstB = try #require(plan.first { $0.provider == "b" }?.worstCaseMicroUSD)

    var route = Self.route([Fixture.a, Fixture.b])
    // Room for either attempt alone, not for both at once.
    route.budget.perRoute.daily = BudgetLimit(hard: MicroUSD(max(worstA, worstB) + min(worstA, worstB) - 1))
    let ledger = InMemoryBudgetLedger()
    let a = ScriptedAdapter("a", script: [.ok("primary", after: .seconds(2))])
    let b = ScriptedAdapter("b")
    let world = TestWorld(routes: [route], adapters: [a, b], ledger: ledger)
    let o = try await world.complete(Fixture.request())
    #expect(o.value?.served == Fixture.a)
    #expect(o.event.totalLatencyMs == 2000)
    #expect(b.calls.isEmpty, "no hedge the budgets cannot hold beside the primary")
    let refused = try #require(o.event.attempts.first { $0.hedge == true })
    #expect(refused.outcome == .skipped && refused.reason == .budgetViolation && refused.hedgeOf == 1)
    #expect(o.event.hedge?.refused == ["budget_violation"] && o.event.hedge?.started == 0)
    #expect(ledger.openReservations.isEmpty)
    let spent = ledger.snapshotNow(wallMillis: world.clock.wallMillis()).map(\.spent).reduce(MicroUSD.zero, +)
    #expect(spent.value <= max(worstA, worstB) + min(worstA, worstB) - 1)
  }

  @Test func hedgesSpendTheRetryBudgetAndStopWhenItIsExhausted() async throws {
    let a = ScriptedAdapter("a", then: .ok("slow", after: .seconds(2)))
    let b = ScriptedAdapter("b", then: .ok("hedge", after: .milliseconds(100)))
    let world = TestWorld(routes: [Self.route()], adapters: [a, b, ScriptedAdapter("c")])
    let budgets = world.router.retryBudgets
    #expect(budgets.tokens("a") == 10)
    let first = try await world.complete(Fixture.request())
    #expect(first.event.hedge?.started == 1 && first.value?.served == Fixture.b)
    #expect(budgets.tokens("a") == 9, "the hedge took a whole token of the request's provider (the loser gives none back)")

    // Drain a's bucket to half (a retry is permitted only above half): no more hedges.
    for _ in 0..<4 { budgets.record("a", success: false) }
    #expect(!budgets.isRetryPermitted("a"))
    let second = try await world.complete(Fixture.request())
    #expect(second.event.hedge?.started == 0)
    #expect(second.event.hedge?.refused == ["retry_budget_exhausted"])
    #expect(second.value?.served == Fixture.a && second.event.totalLatencyMs == 2000)
    #expect(b.calls.count == 1)
  }

  @Test func hedgesNeverGoToAnOpenCircuit() async throws {
    let a = ScriptedAdapter("a", then: .ok("slow", after: .seconds(2)))
    let b = ScriptedAdapter("b")
    let c = ScriptedAdapter("c", then: .ok("c answers", after: .milliseconds(100)))
    let world = TestWorld(routes: [Self.route()], adapters: [a, b, c])
    world.router.health.trip(CircuitKey(Fixture.b, keyFingerprint: "none"), now: world.clock.now())
    let o = try await world.complete(Fixture.request())
    #expect(b.calls.isEmpty)
    #expect(o.value?.served == Fixture.c, "the next candidate whose circuit is closed")

    let world2 = TestWorld(routes: [Self.route([Fixture.a, Fixture.b])], adapters: [ScriptedAdapter("a", then: .ok("slow", after: .seconds(2))), b])
    world2.router.health.trip(CircuitKey(Fixture.b, keyFingerprint: "none"), now: world2.clock.now())
    let o2 = try await world2.complete(Fixture.request())
    #expect(o2.value?.served == Fixture.a && b.calls.isEmpty)
    #expect(o2.event.hedge?.refused == ["no_eligible_candidate"])
  }

  @Test(arguments: [false, true])
  func aClientThatDisconnectsMidHedgeCancelsBothAndLeaksNothing(stream: Bool) async throws {
    let a = ScriptedAdapter("a", then: .ok("slow a words here", after: .seconds(4)))
    let b = ScriptedAdapter("b", then: .ok("slow b words here", after: .seconds(4)))
    let ledger = InMemoryBudgetLedger()
    let world = TestWorld(routes: [Self.route()], adapters: [a, b, ScriptedAdapter("c")], ledger: ledger)
    let router = world.router, clock = world.clock
    let sink = CollectingSink()
    let outcome: RoutedOutcome? = try await world.driver.run {
      await withTaskGroup(of: RoutedOutcome?.self) { group in
        clock.parallelWorkChanged(by: 2)
        group.addTask { await router.complete(Fixture.request(stream: stream), sink: sink.sink) }
        group.addTask { try? await clock.sleep(until: Self.at(800)); return nil }  // the client goes away at 800 ms
        var result: RoutedOutcome?
        clock.parallelWorkChanged(by: -1)
        while let r = await group.next() {
          if let r { result = r } else { group.cancelAll() }
          clock.parallelWorkChanged(by: -1)
        }
        clock.parallelWorkChanged(by: 1)
        return result
      }
    }
    let o = try #require(outcome)
    #expect(o.error?.code == .cancelled)
    #expect(o.event.outcome == .cancelled)
    #expect(world.nowMs == 800, "nothing waits for the cancelled attempts")
    #expect(o.tried.count == 2 && o.tried.allSatisfy { $0.reason == .cancelled && $0.chargedMicroUSD != nil })
    #expect(o.tried.allSatisfy { $0.hedgeLost == nil }, "cancelled by the client, not lost")
    #expect(ledger.openReservations.isEmpty, "no leaked reservation")
    #expect(o.event.totalSpendMicroUSD == o.tried.compactMap(\.chargedMicroUSD).reduce(0, +))
    #expect(sink.all.isEmpty)
    #expect(clock.parallelWork == 0)
    let failures = world.router.health.snapshot(now: clock.now()).map(\.consecutiveFailures).reduce(0, +)
    #expect(failures == 0)
  }

  @Test func p95DelayFollowsTheObservedFirstTokens() async throws {
    var route = Self.route()
    route.hedge = HedgePolicy(delay: .p95)
    let a = ScriptedAdapter("a", script: Array(repeating: .ok("x", after: .milliseconds(200)), count: 12) + [.ok("slow", after: .seconds(3))])
    let b = ScriptedAdapter("b", then: .ok("hedge", after: .milliseconds(100)))
    let world = TestWorld(routes: [route], adapters: [a, b, ScriptedAdapter("c")])
    for i in 0..<12 {
      let o = try await world.complete(Fixture.request(id: "w\(i)"))
      // Once the observed p95 (200 ms) is the delay, a 200 ms answer ties with the
      // hedge timer at the same virtual instant; which wakes first is up to the
      // scheduler (under load the timer sometimes did). Either way a serves, and a
      // hedge, if any, waited the observed 200 ms, never the 1 s fallback.
      #expect(o.value?.served == Fixture.a)
      #expect(o.event.hedge == nil || o.event.hedge?.delayMs == 200, "\(String(describing: o.event.hedge))")
    }
    let o = try await world.complete(Fixture.request(id: "slow"))
    #expect(o.event.hedge?.delayMs == 200, "the observed p95, not the 1 s fallback")
    #expect(o.value?.served == Fixture.b)
    #expect(o.event.totalLatencyMs == 300)
  }
}
