import Foundation
import SwitchboardClient
import SwitchboardCore
import SwitchboardDaemon
import SwitchboardWire
import Testing

/// Issue 11, bullet 8: the dead families count, cancels are not provider
/// failures, and client-chosen names cannot grow the label space.
@Suite struct MetricsHardeningTests {
  static func event(model: String, provider: String = "fast", reason: String? = nil, failureClass: String? = nil,
                    outcome: String = "success") throws -> DecisionEvent {
    let attempt = """
      {"index":1,"provider":"\(provider)","model":"\(model)","keySource":"env","keyFingerprint":"fp","startedOffsetMs":0,
       "latencyMs":12,"outcome":"\(outcome == "success" ? "success" : "failed")",
       \(failureClass.map { "\"failureClass\":\"\($0)\"," } ?? "")\(reason.map { "\"reason\":\"\($0)\"," } ?? "")
       "usage":{"inputTokens":0,"outputTokens":0,"cachedInputTokens":0,"cacheWriteTokens":0},
       "estimatedInputTokens":10,"message":"","sameCandidateRetry":false,"probe":false}
      """
    let json = """
      {"requestID":"r","timestampMs":1767225600000,"tenant":"t","route":"default","strategy":"priority","stream":false,
       "outcome":"\(outcome)","message":"","candidates":[],"attempts":[\(attempt)],"totalSpendUSD":0,"budgetScopes":[],
       "usage":{"inputTokens":1,"outputTokens":1,"cachedInputTokens":0,"cacheWriteTokens":0},"totalLatencyMs":12,"warnings":[]}
      """
    return try JSONDecoder().decode(DecisionEvent.self, from: Data(json.utf8))
  }

  @Test func unconfiguredModelsFoldIntoOther() throws {
    let m = SwitchboardMetrics()
    m.setLabelDomain(.init(providers: ["fast"], candidates: [CandidateRef(provider: "fast", model: "m")]))
    try m.record(Self.event(model: "m"), overhead: .zero)
    for i in 0..<500 { try m.record(Self.event(model: "invented-\(i)"), overhead: .zero) }
    try m.record(Self.event(model: "x", provider: "nope"), overhead: .zero)
    let text = m.render(circuits: [], budgets: [])
    #expect(!text.contains("invented-"))
    #expect(text.contains("switchboard_attempts_total{provider=\"fast\",model=\"_other\",outcome=\"success\",failure_class=\"\",reason=\"\"} 500"), "\(text)")
    #expect(text.contains("provider=\"_other\",model=\"_other\""))
    #expect(text.contains("switchboard_attempts_total{provider=\"fast\",model=\"m\""))
  }

  @Test func clientCancelsAreNotProviderFailures() throws {
    let m = SwitchboardMetrics()
    try m.record(Self.event(model: "m", reason: "cancelled", failureClass: "transient", outcome: "cancelled"), overhead: .zero)
    let text = m.render(circuits: [], budgets: [])
    #expect(text.contains("switchboard_attempts_total{provider=\"fast\",model=\"m\",outcome=\"cancelled\",failure_class=\"\",reason=\"cancelled\"} 1"), "\(text)")
    #expect(!text.contains("failure_class=\"transient\""))
  }

  /// `frames_rejected_total` was never incremented: a protocol error, an idle
  /// timeout and a refused connection now count, by reason.
  @Test func rejectedFramesAreCounted() async throws {
    let yaml = TestSupport.baseYAML.replacingOccurrences(of: "max_in_flight_per_connection: 512",
                                                         with: "max_in_flight_per_connection: 512, idle_timeout_ms: 3000, max_connections: 1")
    try await TestSupport.withDaemon(yaml: yaml) { daemon, socket in
      let bad = try await SwitchboardClient.connect(socketPath: socket)
      try await bad.writeRaw([7, 0, 0, 0, 1, 0])
      // Each step waits for the state it needs (bounded polls; 1 s bounds and a 1 s idle
      // limit could let the idle connection time out before `over` arrived on a loaded machine).
      #expect(await TestSupport.eventually { !bad.isActive })
      #expect(await TestSupport.eventually { daemon.runtime.server.connectionCount == 0 })
      let idle = try await SwitchboardClient.connect(socketPath: socket)
      #expect(await TestSupport.eventually { daemon.runtime.server.connectionCount == 1 })
      let over = try await SwitchboardClient.connect(socketPath: socket)  // the limit is 1
      #expect(await TestSupport.eventually { !over.isActive && !idle.isActive })
      // The counters move when the serving task sees the refusal, just after the client does.
      var text = ""
      await TestSupport.eventually {
        text = daemon.runtime.metrics.render(circuits: [], budgets: [])
        return text.contains("reason=\"idle_timeout\"} 1") && text.contains("reason=\"max_connections\"} 1")
      }
      #expect(text.contains("switchboard_frames_rejected_total{reason=\"bad_flags\"} 1"), "\(text)")
      #expect(text.contains("switchboard_frames_rejected_total{reason=\"max_connections\"} 1"), "\(text)")
      #expect(text.contains("switchboard_frames_rejected_total{reason=\"idle_timeout\"} 1"), "\(text)")
      #expect(!over.isActive && !idle.isActive)
    }
  }
}
