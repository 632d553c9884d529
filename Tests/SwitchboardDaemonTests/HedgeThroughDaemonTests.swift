import Foundation
import SwitchboardClient
import SwitchboardCore
import SwitchboardDaemon
import SwitchboardTestKit
import SwitchboardWire
import Testing

/// Hedged requests end to end: client → Unix socket → daemon → real HTTP on
/// loopback → FakeProvider; and the `hedge:` block of the config.
@Suite(.serialized) struct HedgeThroughDaemonTests {
  static let model = "{input: 1.0, output: 2.0, context: 32000, max_output: 1024, capabilities: [streaming]}"

  /// Two fakes (`a` slow, `b` prompt) behind a daemon whose route `r` hedges after 800 ms
  /// (150 ms could fire before the primary's request had reached its fake on a loaded
  /// machine: then the loser was never charged and its fake saw nothing).
  static func withStack(wire: String, _ body: (SwitchboardClient, FakeProvider, FakeProvider) async throws -> Void) async throws {
    let a = FakeProvider(), b = FakeProvider()
    try await a.start()
    try await b.start()
    let dir = TestSupport.tempDir()
    let yaml = """
      listen: {socket: /tmp/unused.sock}
      logging: {level: error}
      audit: {path: "\(dir)/audit.sqlite"}
      providers:
        a: {kind: \(wire), base_url: "\(a.baseURL)", keys: [{value: "sk-test-hedge-a-0123456789"}]}
        b: {kind: \(wire), base_url: "\(b.baseURL)", keys: [{value: "sk-test-hedge-b-0123456789"}]}
      models:
        a/m-a: \(model)
        b/m-b: \(model)
      routes:
        r: {candidates: [a/m-a, b/m-b], hedge: {after_ms: 800, max_extra: 1}, timeouts: {attempt_ms: 20000, first_token_ms: 20000}}
      """
    let daemon = try await InProcessDaemon.start(yaml: yaml, socketPath: dir + "/h.sock", environment: [:])
    do {
      let client = try await SwitchboardClient.connect(socketPath: dir + "/h.sock")
      do { try await body(client, a, b) } catch { await client.close(); throw error }
      await client.close()
    } catch {
      await daemon.stop()
      try? await a.shutdown(); try? await b.shutdown()
      throw error
    }
    await daemon.stop()
    try? await a.shutdown(); try? await b.shutdown()
  }

  static func explain(_ client: SwitchboardClient, _ id: String) async throws -> Switchboard_V1_DecisionEvent {
    var a = Switchboard_V1_AdminRequest()
    var e = Switchboard_V1_ExplainRequest(); e.requestID = id
    a.kind = .explain(e)
    return try await client.admin(a).explain.event
  }

  static func checkHedgedEvent(_ ev: Switchboard_V1_DecisionEvent) {
    #expect(ev.attempts.count == 2)
    #expect(ev.attempts.first?.provider == "a" && ev.attempts.first?.hedgeLost == true && ev.attempts.first?.hedge == false)
    #expect(ev.attempts.first?.reasonCode == "cancelled")
    #expect(ev.attempts.last?.provider == "b" && ev.attempts.last?.hedge == true && ev.attempts.last?.hedgeOf == 1)
    #expect(ev.attempts.last?.outcome == "success")
    #expect(ev.hasHedge && ev.hedge.started == 1 && ev.hedge.winnerAttempt == 2 && ev.hedge.winnerIsHedge)
    #expect(ev.hedge.delayMs == 800)
    guard case .costMicroUsd(let loserCost)? = ev.attempts.first?.optCostMicroUsd else {
      Issue.record("the loser was not settled")
      return
    }
    #expect(loserCost > 0, "the loser reached the model: its input is charged")
    #expect(ev.hedge.extraCostMicroUsd == loserCost)
  }

  @Test(arguments: ["openai", "anthropic"])
  func aSlowPrimaryIsHedgedUnaryAndStreamed(wire: String) async throws {
    try await Self.withStack(wire: wire) { client, a, b in
      a.script(model: "m-a", .slowFirstToken(milliseconds: 10_000), .slowFirstToken(milliseconds: 10_000))
      let r = try await client.complete(TestSupport.request(route: "r"))
      #expect(r.provider == "b" && r.content == "fake answer from m-b")
      #expect(a.attempts.count == 1 && b.attempts.count == 1)
      Self.checkHedgedEvent(try await Self.explain(client, r.requestID))

      // Streamed: only the winner's chunks reach the client, no restart, nothing of a.
      let (_, frames) = try await client.stream(TestSupport.request(route: "r", stream: true))
      var chunks: [Switchboard_V1_CompletionChunk] = []
      var final: Switchboard_V1_CompletionResponse?
      var restarts = 0
      for try await f in frames {
        switch f.body {
        case .completionChunk(let c): chunks.append(c)
        case .completionResponse(let c): final = c
        case .streamRestart: restarts += 1
        default: break
        }
      }
      let done = try #require(final)
      #expect(restarts == 0)
      #expect(chunks.map(\.delta).joined() == "fake answer from m-b")
      #expect(done.provider == "b")
      Self.checkHedgedEvent(try await Self.explain(client, done.requestID))
    }
  }

  @Test func theHedgeBlockIsParsedAndValidated() throws {
    let base = """
      providers: {a: {kind: simulated}, b: {kind: simulated}}
      models: {a/m: {input: 1, output: 1, context: 1000}, b/m: {input: 1, output: 1, context: 1000}}
      routes:

      """
    let ok = try DaemonConfiguration.parse(yaml: base + """
        p: {candidates: [a/m, b/m], hedge: {after_ms: p95, p95_floor_ms: 80, p95_fallback_ms: 700, min_samples: 5}}
        f: {candidates: [a/m, b/m], hedge: {after_ms: 300, max_extra: 2}}
        n: {candidates: [a/m, b/m]}
      """)
    #expect(ok.routes["p"]?.hedge?.delay == .p95)
    #expect(ok.routes["p"]?.hedge?.p95Floor == .milliseconds(80) && ok.routes["p"]?.hedge?.p95Fallback == .milliseconds(700))
    #expect(ok.routes["p"]?.hedge?.minSamples == 5 && ok.routes["p"]?.hedge?.maxExtra == 1)
    #expect(ok.routes["f"]?.hedge == HedgePolicy(delay: .fixed(.milliseconds(300)), maxExtra: 2))
    #expect(ok.routes["n"]?.hedge == nil)

    func issues(_ hedge: String) -> [ConfigIssue] {
      do { _ = try DaemonConfiguration.parse(yaml: base + "    r: {candidates: [a/m, b/m], hedge: \(hedge)}\n"); return [] }
      catch let e as ConfigError { return e.issues } catch { return [] }
    }
    #expect(issues("{after_ms: soonish}").map(\.path) == ["routes.r.hedge.after_ms"])
    #expect(!issues("{after_ms: soonish}").contains { $0.message.contains("soonish") }, "errors never echo a value")
    #expect(issues("{max_extra: 1}").map(\.path) == ["routes.r.hedge.after_ms"])
    #expect(issues("{after_ms: 100, max_extra: 9}").map(\.path) == ["routes.r.hedge.max_extra"])
    #expect(issues("{after_ms: 0}").map(\.path) == ["routes.r.hedge.after_ms"])
    #expect(issues("{after_ms: 100, extra: 1}").map(\.path) == ["routes.r.hedge.extra"])
    #expect(issues("[100]").map(\.path) == ["routes.r.hedge"])
  }
}
