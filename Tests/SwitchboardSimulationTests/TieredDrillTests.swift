import Testing

import SwitchboardCore
@testable import SwitchboardSimulation

@Suite("Drill: tiered-routing")
struct TieredDrillTests {
  @Test func passesAndTellsTheStory() async throws {
    let r = try await Drills.run("tiered-routing")
    #expect(r.violations == [], "\(r.rendered)")
    let text = r.timeline.joined(separator: "\n")
    #expect(text.contains("request_id=req-0000 tier=fast source=rule reason=rule rule=greeting"))
    #expect(text.contains("request_id=req-0003 tier=fast source=router reason=router router_answer=fast"))
    #expect(text.contains("request_id=req-0005 tier=balanced source=default reason=router_timeout"))
    #expect(text.contains("router_latency_ms=300"))
    #expect(text.contains("request_id=req-0007 tier=balanced source=default reason=router_invalid"))
    #expect(text.contains("request_id=req-0012 tier=balanced source=default reason=router_circuit_open"))
  }

  @Test func isDeterministic() async throws {
    let one = try await Drills.run("tiered-routing")
    let two = try await Drills.run("tiered-routing")
    #expect(one.timeline == two.timeline)
  }

  /// The drill's checks bite: with classification off (same candidates, priority
  /// order) every request goes to the first candidate and the drill fails.
  @Test func failsWithClassificationTurnedOff() async throws {
    var options = DrillOptions()
    options.tieredClassification = false
    let r = try await Drills.run("tiered-routing", options: options)
    #expect(!r.passed)
    #expect(r.violations.contains { $0.hasPrefix("rules pick the tier") })
    #expect(r.violations.contains { $0.hasPrefix("every request is served by a candidate of its decision's tier") })
    #expect(r.violations.contains { $0.hasPrefix("req-0005: router_timeout -> balanced") })
  }
}
