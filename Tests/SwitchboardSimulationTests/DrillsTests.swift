import Foundation
import Testing

import SwitchboardCore
@testable import SwitchboardSimulation

@Suite("Chaos drills")
struct DrillsTests {
  @Test func catalogueListsEveryScenario() {
    #expect(Drills.all.map(\.name) == ["golden-path", "primary-outage", "rate-limit-storm", "flapping-primary",
                                       "budget-exhausted", "stream-cut", "thundering-herd"])
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
