import Foundation
import Testing

import SwitchboardCore
@testable import SwitchboardSimulation

@Suite("Chaos drills")
struct DrillsTests {
  @Test func catalogueListsEveryScenario() {
    #expect(Drills.all.map(\.name) == ["golden-path", "primary-outage", "rate-limit-storm", "flapping-primary",
                                       "budget-exhausted", "stream-cut", "thundering-herd", "stale-success", "retry-storm",
                                       "sla-recovery", "long-unary", "tiered-routing", "hedged-tail"])
    #expect(Drills.all.allSatisfy { !$0.summary.isEmpty })
    #expect(Drills.descriptor(named: "stream-cut") != nil)
  }

  @Test(arguments: Drills.all.map(\.name))
  func drillPasses(name: String) async throws {
    let report = try await Drills.run(name)
    #expect(report.name == name)
    #expect(report.violations == [], "\(report.rendered)")
    #expect(report.passed)
    #expect(!report.timeline.isEmpty && !report.checks.isEmpty)
  }

  @Test func drillsAreDeterministic() async throws {
    let one = try await Drills.run("flapping-primary")
    let two = try await Drills.run("flapping-primary")
    #expect(one.timeline == two.timeline)
  }

  @Test func goldenPathTimelineReadsLikeTheStory() async throws {
    let r = try await Drills.run("golden-path")
    let text = r.timeline.joined(separator: "\n")
    #expect(text.contains("route=payments-assist"))
    #expect(text.contains("provider=sim-a/llama-3.3 provider_score="))
    #expect(text.contains("budget_usd="))
    #expect(text.contains("t=1200ms request_id=req-0000 attempt=1 provider=sim-a/llama-3.3 failed=timeout reason=timeout"))
    #expect(text.contains("fallback=sim-b/claude-3.5 selected"))
    #expect(text.contains("final provider=sim-b/claude-3.5 cost="))
    #expect(text.contains("latency_ms="))
    #expect(text.contains("explainability_event=recorded"))
  }

  @Test func thunderingHerdCheckCatchesABreakerThatNeverOpens() async throws {
    var broken = CircuitPolicy()
    broken.failureThreshold = 1_000_000
    let report = try await Drills.run("thundering-herd", options: DrillOptions(circuit: broken))
    #expect(!report.passed)
    #expect(report.violations.contains { $0.contains("only probes reach sim-a/llama-3.3") })
    #expect(report.violations.contains { $0.contains("attempts reaching sim-a/llama-3.3 while it failed") })
  }

  @Test func primaryOutageCheckCatchesACooldownTooShort() async throws {
    var hasty = CircuitPolicy()
    hasty.failureThreshold = 3
    hasty.baseCooldown = .milliseconds(50)
    hasty.maxCooldown = .milliseconds(50)
    hasty.jitter = 0
    let report = try await Drills.run("primary-outage", options: DrillOptions(circuit: hasty))
    #expect(!report.passed)
    #expect(report.violations.contains { $0.contains("probes of sim-a/llama-3.3") })
  }

  // The new drills fail on the old behaviour. Where the old behaviour is a setting
  // (no retry budget and no back-off, no SLA trials, a unary call capped at the
  // first-token limit), the drill runs with it; where it was code (any success
  // closed a circuit), the checker is fed the trace the old code produced.

  @Test func staleSuccessCheckCatchesALateSuccessThatClosesTheCircuit() async throws {
    let (world, outcomes, policy) = try await Drills.staleSuccessScenario(DrillOptions())
    var good = DrillChecks()
    Drills.checkStaleSuccess(world, outcomes, policy: policy, checks: &good)
    #expect(good.violations.isEmpty, "\(good.violations)")
    // The old trace: the late success at t=1000ms closed the circuit, so request 4
    // (t=1100ms) went to the primary as an ordinary attempt, not a probe.
    var old = outcomes
    var e = old[4].event
    var plain = try #require(outcomes[0].event.attempts.first { $0.provider == "sim-a" && $0.outcome == .success })
    plain.startedOffsetMs = 0
    plain.latencyMs = 100
    plain.probe = false
    e.attempts = [plain]
    old[4].event = e
    var bad = DrillChecks()
    Drills.checkStaleSuccess(world, old, policy: policy, checks: &bad)
    #expect(bad.violations.contains { $0.contains("half-open probe") })
    #expect(bad.violations.contains { $0.contains("before its cooldown ends") })
  }

  @Test func retryStormCheckCatchesRetriesWithoutBudgetOrBackoff() async throws {
    let report = try await Drills.run("retry-storm", options: DrillOptions(retryBudget: .init(maxTokens: 0)))
    #expect(!report.passed)
    #expect(report.violations.contains { $0.contains("within its retry budget") })
    #expect(report.violations.contains { $0.contains("at most 10% load") })
    var noBackoff = RetryPolicy()
    noBackoff.backoffBase = .zero
    let r2 = try await Drills.run("retry-storm", options: DrillOptions(retry: noBackoff))
    #expect(r2.violations.contains { $0.contains("jittered back-off") })
  }

  @Test func slaRecoveryCheckCatchesAPermanentExclusion() async throws {
    // The old behaviour: samples never aged out and no trials.
    let old = DrillOptions(slaTrials: false, latencyWindow: .seconds(100 * 86_400))
    let report = try await Drills.run("sla-recovery", options: old)
    #expect(!report.passed)
    #expect(report.violations.contains { $0.contains("re-admitted within") })
    // Ageing alone brings it back, but without trials a degraded candidate is retried
    // only when its samples expire; with trials it is refreshed every interval.
    let ageing = try await Drills.run("sla-recovery", options: DrillOptions(slaTrials: false))
    #expect(ageing.passed, "\(ageing.violations)")
  }

  @Test func longUnaryCheckCatchesAUnaryCallCappedAtTheFirstTokenLimit() async throws {
    var capped = TimeoutPolicy()
    capped.attempt = capped.firstToken  // the old rule: a unary call ended at first_token_ms
    let report = try await Drills.run("long-unary", options: DrillOptions(timeouts: capped))
    #expect(!report.passed)
    #expect(report.violations.contains { $0.contains("served by the primary") })
  }

  @Test func hedgedTailFailsWithoutHedging() async throws {
    let report = try await Drills.run("hedged-tail", options: DrillOptions(hedging: false))
    #expect(!report.passed)
    #expect(report.violations.contains { $0.hasPrefix("hedging at least halves the p99 of served latency") }, "\(report.violations)")
    #expect(report.violations.contains { $0.hasPrefix("p99 of served latency stays under 1.5 s") }, "\(report.violations)")
  }

  @Test func hedgedTailFiguresShowTheImprovement() async throws {
    let report = try await Drills.run("hedged-tail")
    #expect(report.passed, "\(report.rendered)")
    let hedgedLine = try #require(report.timeline.first { $0.hasPrefix("hedged:") })
    #expect(hedgedLine.contains("hedges=") && !hedgedLine.contains("hedges=0 "))
  }

  @Test func unknownDrillThrows() async {
    await #expect(throws: DrillError.self) { _ = try await Drills.run("nope") }
  }

  @Test func reportEncodesPassed() throws {
    let r = DrillReport(name: "x", timeline: ["a"], violations: ["v"])
    let json = String(decoding: try JSONEncoder().encode(r), as: UTF8.self)
    #expect(json.contains("\"passed\":false"))
    #expect(try JSONDecoder().decode(DrillReport.self, from: Data(json.utf8)) == r)
    #expect(r.rendered.contains("result=FAIL"))
  }
}
