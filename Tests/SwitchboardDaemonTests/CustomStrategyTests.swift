import Foundation
import Synchronization
import SwitchboardClient
import SwitchboardCore
import SwitchboardDaemon
import SwitchboardWire
import Testing

/// A strategy that records its lifecycle: reverse config order, `block` on every failure.
private final class RecordingStrategy: RoutingStrategy {
  static let log = Mutex<[String]>([])
  let route: String
  var name: String { "reverse" }
  init(route: String) { self.route = route; Self.log.withLock { $0.append("init:\(route)") } }
  func rank(_ c: [PlannedCandidate], context: StrategyContext) -> [PlannedCandidate] { c.reversed() }
  func onSuccess(_ candidate: CandidateRef, latency: Duration) { Self.log.withLock { $0.append("success:\(candidate)") } }
  func onFailure(_ candidate: CandidateRef, failure: ProviderFailure) -> FailureDirective {
    Self.log.withLock { $0.append("failure:\(candidate)") }
    return .block
  }
  func cleanup() { Self.log.withLock { $0.append("cleanup:\(route)") } }
}

@Suite(.serialized) struct CustomStrategyTests {
  static let yaml = """
    listen: {socket: /tmp/unused.sock}
    logging: {level: error}
    providers:
      good: {kind: simulated, seed: 3, latency_ms: {p50: 2, p99: 5}}
      flaky: {kind: simulated, seed: 4, latency_ms: {p50: 2, p99: 5}, script: [provider_5xx]}
    models:
      good/m: {input: 2.0, output: 4.0, context: 32000, max_output: 1024, capabilities: [streaming]}
      flaky/m: {input: 0.1, output: 0.2, context: 32000, max_output: 1024, capabilities: [streaming]}
    circuit: {failure_threshold: 5, base_cooldown_ms: 60000, max_cooldown_ms: 60000, jitter: 0}
    routes:
      r: {candidates: [good/m, flaky/m], strategy: "custom:reverse", retry: {same_candidate_retries: 0}}
    """

  @Test func aRegisteredStrategyRoutesAndItsBlockOpensTheCircuit() async throws {
    RecordingStrategy.log.withLock { $0.removeAll() }
    var registry = StrategyRegistry()
    registry.register("reverse") { setup in RecordingStrategy(route: setup.route) }
    let dir = TestSupport.tempDir()
    let daemon = try await InProcessDaemon.start(yaml: Self.yaml, socketPath: dir + "/s.sock", strategies: registry)
    let client = try await SwitchboardClient.connect(socketPath: dir + "/s.sock")
    // Reverse order: flaky first; its one 5xx is `block`ed, so its circuit opens at
    // once (threshold 5 would not have) and the request is served by good.
    let r1 = try await client.complete(TestSupport.request(route: "r"))
    #expect(r1.provider == "good")
    let health = daemon.runtime.router.health.snapshot(now: daemon.runtime.router.clock.now())
    #expect(health.contains { $0.key.provider == "flaky" && $0.state == "open" }, "block opened the circuit")
    let r2 = try await client.complete(TestSupport.request(route: "r"))
    #expect(r2.provider == "good")
    var a = Switchboard_V1_AdminRequest()
    var e = Switchboard_V1_ExplainRequest(); e.requestID = r1.requestID
    a.kind = .explain(e)
    let x = try await client.admin(a).explain
    #expect(x.event.strategy == "reverse")
    #expect(x.event.attempts.map(\.provider) == ["flaky", "good"])
    await client.close()
    await daemon.stop()
    let log = RecordingStrategy.log.withLock { $0 }
    #expect(log.first == "init:r")
    #expect(log.contains("failure:flaky/m") && log.contains("success:good/m"))
    #expect(log.last == "cleanup:r", "\(log)")
  }

  @Test func anUnregisteredStrategyIsAConfigError() async throws {
    let dir = TestSupport.tempDir()
    do {
      let d = try await InProcessDaemon.start(yaml: Self.yaml, socketPath: dir + "/s.sock")
      await d.stop()
      Issue.record("a daemon started with an unknown custom strategy")
    } catch let e as ConfigError {
      #expect(e.issues.contains { $0.path == "routes.r.strategy" && $0.message.contains("does not register") && !$0.message.contains("reverse") })
    }
  }

  /// The worked example target: a user-built daemon binary with `cheapest_reliable`.
  @Test func theExampleDaemonBinaryServesACustomStrategyRoute() async throws {
    let exe = TestSupport.repoRoot.appendingPathComponent(".build/debug/example-strategy-daemon").path
    try #require(FileManager.default.isExecutableFile(atPath: exe))
    let dir = TestSupport.tempDir()
    let socket = dir + "/e.sock"
    let yaml = """
      logging: {level: error}
      providers:
        dear: {kind: simulated, seed: 3, latency_ms: {p50: 2, p99: 5}}
        cheap: {kind: simulated, seed: 4, latency_ms: {p50: 2, p99: 5}, script: [rate_limited]}
      models:
        dear/m: {input: 5.0, output: 10.0, context: 32000, max_output: 1024, capabilities: [streaming]}
        cheap/m: {input: 0.1, output: 0.2, context: 32000, max_output: 1024, capabilities: [streaming]}
      circuit: {failure_threshold: 5, base_cooldown_ms: 60000, max_cooldown_ms: 60000, jitter: 0}
      routes:
        r: {candidates: [dear/m, cheap/m], strategy: "custom:cheapest_reliable"}
      """
    try yaml.write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = ["--config", dir + "/c.yaml", "--socket", socket]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    try p.run()
    defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
    let c = try await TestSupport.connectWhenUp(socket)
    // cheap/m is first (cheapest); its 429 has no Retry-After, so it is not retried in
    // place; the strategy blocks it, the circuit opens, dear/m serves.
    let r1 = try await c.complete(TestSupport.request(route: "r"))
    #expect(r1.provider == "dear")
    #expect(r1.attempts == 2)
    // The next request: cheap's circuit is open (blocked), so dear serves in one attempt.
    let r2 = try await c.complete(TestSupport.request(route: "r"))
    #expect(r2.provider == "dear")
    #expect(r2.attempts == 1)
    await c.close()
    kill(p.processIdentifier, SIGTERM)
    let text: String = await withCheckedContinuation { k in
      DispatchQueue.global().async {
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        k.resume(returning: String(decoding: data, as: UTF8.self))
      }
    }
    #expect(p.terminationStatus == 0)
    #expect(text.contains("cheapest_reliable: cleanup after 2 successes, 1 failures, 1 blocks"), "\(text)")
  }
}
