import Foundation
import Logging
import Synchronization
import SwitchboardAudit
import SwitchboardClient
import SwitchboardCore
import SwitchboardDaemon
import SwitchboardTestKit
import SwitchboardWire
import Testing

// End to end: client → Unix socket → daemon → real HTTP on loopback → FakeProvider,
// for both wire formats. Each provider `x` of a stack has its own fake and serves
// model `m-x`, so the fake's attempts for a model are the attempts on that candidate.

/// A running daemon with one fake per provider.
private struct Stack {
  let daemon: InProcessDaemon
  let client: SwitchboardClient
  let fakes: [String: FakeProvider]
  /// The temp directory holding the socket and the audit database.
  let dir: String
  subscript(_ provider: String) -> FakeProvider { fakes[provider]! }
  var runtime: DaemonRuntime { daemon.runtime }

  /// Requests the fake of `provider` saw.
  func attempts(_ provider: String) -> [FakeProvider.Attempt] { self[provider].attempts }

  func explain(_ requestID: String) async throws -> Switchboard_V1_ExplainResponse {
    var a = Switchboard_V1_AdminRequest()
    var e = Switchboard_V1_ExplainRequest(); e.requestID = requestID
    a.kind = .explain(e)
    return try await client.admin(a).explain
  }

  /// Unary completion on `route`; a terminal status comes back as the error's status.
  func complete(_ route: String, _ text: String = "hello") async -> Result<Switchboard_V1_CompletionResponse, SwitchboardStatusError> {
    do {
      return .success(try await client.complete(TestSupport.request(route: route, text)))
    } catch let e as SwitchboardStatusError {
      return .failure(e)
    } catch {
      var s = Switchboard_V1_Status(); s.code = .internal; s.reasonCode = "test_transport"; s.message = "\(error)"
      return .failure(SwitchboardStatusError(s))
    }
  }

  /// Streamed completion on `route`: every frame in arrival order.
  func stream(_ route: String, _ text: String = "hello") async throws -> StreamResult {
    let (_, frames) = try await client.stream(TestSupport.request(route: route, text))
    var out = StreamResult()
    for try await f in frames { out.frames.append(f) }
    return out
  }
}

private struct StreamResult {
  var frames: [Switchboard_V1_Frame] = []
  var chunks: [Switchboard_V1_CompletionChunk] {
    frames.compactMap { if case .completionChunk(let c) = $0.body { return c }; return nil }
  }
  var restarts: [Switchboard_V1_StreamRestart] {
    frames.compactMap { if case .streamRestart(let r) = $0.body { return r }; return nil }
  }
  var response: Switchboard_V1_CompletionResponse? {
    frames.compactMap { if case .completionResponse(let r) = $0.body { return r }; return nil }.first
  }
  var status: Switchboard_V1_Status? {
    frames.compactMap { if case .status(let s) = $0.body { return s }; return nil }.first
  }
  /// Text of the chunks after the last restart.
  var textSinceLastRestart: String {
    let i = frames.lastIndex { if case .streamRestart = $0.body { return true }; return false } ?? -1
    return frames[(i + 1)...].compactMap { if case .completionChunk(let c) = $0.body { return c.delta }; return nil }.joined()
  }
}

/// Collects formatted log lines.
private final class LogLines: Sendable {
  private let lines = Mutex<[String]>([])
  func append(_ line: String) { lines.withLock { $0.append(line) } }
  var all: [String] { lines.withLock { $0 } }
}

private enum E2E {
  static let defaultModel = "{input: 1.0, output: 2.0, context: 32000, max_output: 1024, capabilities: [streaming]}"

  /// The API key the fake saw on an attempt (either wire format).
  static func key(_ a: FakeProvider.Attempt) -> String? {
    if let auth = a.header("authorization") { return auth.replacingOccurrences(of: "Bearer ", with: "") }
    return a.header("x-api-key")
  }

  static func answer(_ provider: String) -> String { "fake answer from m-\(provider)" }

  /// Starts one fake per provider and a daemon routing to them, runs `body`, tears down.
  static func withStack(
    _ wire: String, providers: [String] = ["a", "b"], keys: [String: [String]] = [:],
    models: [String: String] = [:], circuit: String = "", routes: [String], logger: Logger? = nil,
    _ body: (Stack) async throws -> Void
  ) async throws {
    var fakes: [String: FakeProvider] = [:]
    do {
      for p in providers {
        let f = FakeProvider()
        try await f.start()
        fakes[p] = f
      }
      let dir = TestSupport.tempDir()
      // A file-backed audit store answers only after the decision row is committed,
      // so `explain` right after an answer always finds it (the in-memory store queues).
      var yaml = "listen: {socket: /tmp/unused.sock}\nlogging: {level: error}\naudit: {path: \"\(dir)/audit.sqlite\"}\n"
      if !circuit.isEmpty { yaml += "circuit: \(circuit)\n" }
      yaml += "providers:\n"
      for p in providers {
        let k = (keys[p] ?? ["sk-test-e2e-\(p)-0123456789"]).map { "{value: \"\($0)\"}" }.joined(separator: ", ")
        yaml += "  \(p): {kind: \(wire), base_url: \"\(fakes[p]!.baseURL)\", keys: [\(k)]}\n"
      }
      yaml += "models:\n"
      for p in providers { yaml += "  \(p)/m-\(p): \(models[p] ?? defaultModel)\n" }
      yaml += "routes:\n"
      for r in routes { yaml += "  \(r)\n" }
      let socket = dir + "/e2e.sock"
      let daemon: InProcessDaemon
      if let logger {
        daemon = try await InProcessDaemon.start(yaml: yaml, socketPath: socket, environment: [:], logger: logger)
      } else {
        daemon = try await InProcessDaemon.start(yaml: yaml, socketPath: socket, environment: [:])
      }
      do {
        let client = try await SwitchboardClient.connect(socketPath: socket)
        do {
          try await body(Stack(daemon: daemon, client: client, fakes: fakes, dir: dir))
        } catch {
          await client.close()
          throw error
        }
        await client.close()
      } catch {
        await daemon.stop()
        throw error
      }
      await daemon.stop()
    } catch {
      for f in fakes.values { try? await f.shutdown() }
      throw error
    }
    for f in fakes.values { try? await f.shutdown() }
  }
}

@Suite(.serialized) struct ProvidersEndToEndTests {
  // MARK: 1. success

  @Test(arguments: ["openai", "anthropic"])
  func unaryAndStreamedCompletionsSucceedWithUsageAndCost(wire: String) async throws {
    try await E2E.withStack(wire, providers: ["a"], routes: ["r: {candidates: [a/m-a]}"]) { s in
      let r = try await s.client.complete(TestSupport.request(route: "r"))
      #expect(r.content == E2E.answer("a"))
      #expect(r.provider == "a" && r.model == "m-a")
      #expect(r.attempts == 1)
      #expect(r.usage.outputTokens == 4)
      #expect(r.usage.inputTokens > 0)
      let expected = (Double(r.usage.inputTokens) * 1.0 + Double(r.usage.outputTokens) * 2.0) / 1_000_000
      guard case .costUsd(let cost)? = r.optCostUsd else { Issue.record("no cost on a priced model"); return }
      #expect(abs(cost - expected) < 1e-12, "cost \(cost) != \(expected) from the config's prices")
      #expect(s.attempts("a").count == 1)
      #expect(s.attempts("a").first?.stream == false)
      #expect(s.attempts("a").first?.format.rawValue == wire)

      let st = try await s.stream("r")
      let final = try #require(st.response)
      #expect(st.status == nil)
      #expect(st.chunks.count >= 2, "the answer arrives in pieces")
      // Every chunk arrives before the final response, which is the last frame.
      if case .completionResponse? = st.frames.last?.body {} else { Issue.record("the final response is not the last frame") }
      #expect(st.chunks.map(\.delta).joined() == E2E.answer("a"))
      #expect(final.content == E2E.answer("a"))
      #expect(final.usage.outputTokens == 4)
      let sExpected = (Double(final.usage.inputTokens) * 1.0 + Double(final.usage.outputTokens) * 2.0) / 1_000_000
      #expect(abs(final.costUsd - sExpected) < 1e-12)
      #expect(final.usage.inputTokens > 0)
      #expect(s.attempts("a").count == 2)
      #expect(s.attempts("a").last?.stream == true)
      let x = try await s.explain(final.requestID)
      #expect(x.event.attempts.map(\.outcome) == ["success"])
      #expect(x.event.stream)
      #expect(abs(x.event.costUsd - sExpected) < 1e-12)
    }
  }

  // MARK: 2. 429

  @Test(arguments: ["openai", "anthropic"])
  func rateLimitWithShortRetryAfterIsRetriedInPlaceAfterTheWait(wire: String) async throws {
    let route = "r: {candidates: [a/m-a, b/m-b], retry: {retry_after_max_ms: 1000}}"
    try await E2E.withStack(wire, routes: [route]) { s in
      s["a"].script(model: "m-a", .rateLimited(retryAfter: "0.15"))
      let r = try await s.client.complete(TestSupport.request(route: "r"))
      #expect(r.provider == "a")
      #expect(r.content == E2E.answer("a"))
      #expect(r.attempts == 2)
      let seen = s.attempts("a")
      try #require(seen.count == 2)
      let gap = seen[1].at - seen[0].at
      #expect(gap >= .milliseconds(150), "retried after \(gap), before the Retry-After of 150 ms")
      #expect(s.attempts("b").isEmpty)
      let x = try await s.explain(r.requestID)
      #expect(x.event.attempts.count == 2)
      #expect(x.event.attempts[0].reasonCode == "rate_limited")
      #expect(x.event.attempts[0].failureClass == "transient")
      #expect(x.event.attempts[0].httpStatus == 429)
      #expect(x.event.attempts[1].sameCandidateRetry && x.event.attempts[1].provider == "a")
      #expect(x.event.attempts[1].outcome == "success")
    }
  }

  @Test(arguments: ["openai", "anthropic"])
  func rateLimitWithLongRetryAfterFailsOverAtOnce(wire: String) async throws {
    let route = "r: {candidates: [a/m-a, b/m-b], retry: {retry_after_max_ms: 1000}}"
    try await E2E.withStack(wire, routes: [route]) { s in
      s["a"].script(model: "m-a", .rateLimited(retryAfter: "30"))
      let r = try await s.client.complete(TestSupport.request(route: "r"))
      #expect(r.provider == "b")
      #expect(r.content == E2E.answer("b"))
      #expect(s.attempts("a").count == 1)
      let b = try #require(s.attempts("b").first)
      let a = try #require(s.attempts("a").first)
      #expect(b.at - a.at < .seconds(15), "failed over after \(b.at - a.at): it waited for the 30 s Retry-After")
      let x = try await s.explain(r.requestID)
      #expect(x.event.attempts.map(\.provider) == ["a", "b"])
      #expect(x.event.attempts[0].reasonCode == "rate_limited")
      #expect(!x.event.attempts[1].sameCandidateRetry)
    }
  }

  // MARK: 3. 5xx

  @Test(arguments: ["openai", "anthropic"])
  func persistent503RetriesOnceThenFailsOver(wire: String) async throws {
    try await E2E.withStack(wire, routes: ["r: {candidates: [a/m-a, b/m-b]}"]) { s in
      for _ in 0..<10 { s["a"].script(model: "m-a", .status(503)) }
      let r = try await s.client.complete(TestSupport.request(route: "r"))
      #expect(r.provider == "b")
      #expect(r.attempts == 3)
      #expect(s.attempts("a").count == 2)
      #expect(s.attempts("b").count == 1)
      let x = try await s.explain(r.requestID)
      #expect(x.event.attempts.map(\.provider) == ["a", "a", "b"])
      #expect(x.event.attempts[0].reasonCode == "provider_5xx" && x.event.attempts[0].failureClass == "transient")
      #expect(x.event.attempts[0].httpStatus == 503)
      #expect(x.event.attempts[1].sameCandidateRetry && x.event.attempts[1].reasonCode == "provider_5xx")
      #expect(x.event.attempts[2].outcome == "success")
      #expect(x.event.chosenProvider == "b" && x.event.baselineProvider == "a")
    }
  }

  @Test(arguments: ["openai", "anthropic"])
  func persistent503OnOneCandidateIsBoundedThenTheCircuitKeepsTrafficAway(wire: String) async throws {
    let routes = [
      // One same-candidate retry: two attempts.
      "once: {candidates: [a/m-a], retry: {max_attempts: 4, same_candidate_retries: 1}}",
      // Many retries allowed, but max_attempts bounds them.
      "capped: {candidates: [b/m-b], retry: {max_attempts: 3, same_candidate_retries: 5}}",
    ]
    try await E2E.withStack(wire, circuit: "{failure_threshold: 3, base_cooldown_ms: 60000, max_cooldown_ms: 60000, jitter: 0}",
                            routes: routes) { s in
      for _ in 0..<20 { s["a"].script(model: "m-a", .status(503)); s["b"].script(model: "m-b", .status(503)) }

      guard case .failure(let e1) = await s.complete("once") else { Issue.record("a 503 answer succeeded"); return }
      #expect(e1.status.code == .unavailable)
      #expect(e1.status.reasonCode == "provider_5xx")
      #expect(e1.status.retryable)
      #expect(s.attempts("a").count == 2, "1 attempt + same_candidate_retries")

      guard case .failure(let e2) = await s.complete("capped") else { Issue.record("a 503 answer succeeded"); return }
      #expect(e2.status.code == .unavailable && e2.status.reasonCode == "provider_5xx")
      #expect(s.attempts("b").count == 3, "max_attempts bounds the same-candidate retries")
      // The third consecutive failure reached failure_threshold: the circuit is open.
      let health = s.runtime.router.health.snapshot(now: s.runtime.router.clock.now())
      #expect(health.contains { $0.key.provider == "b" && $0.state == "open" })

      guard case .failure(let e3) = await s.complete("capped") else { Issue.record("an open circuit let a request succeed"); return }
      #expect(s.attempts("b").count == 3, "the open circuit kept the request from the provider")
      #expect(e3.status.code == .unavailable)
      #expect(e3.status.reasonCode == "circuit_open")
      let x = try await s.explain(e3.status.requestID)
      let rejected = x.event.candidates.contains { $0.provider == "b" && $0.rejectionReason == "circuit_open" }
      let skipped = x.event.attempts.contains { $0.provider == "b" && $0.outcome == "skipped" && $0.reasonCode == "circuit_open" }
      #expect(rejected || skipped, "explain names the open circuit")
      #expect(!x.event.attempts.contains { $0.outcome == "failed" })
    }
  }

  // MARK: 4. hang

  @Test(arguments: ["openai", "anthropic"])
  func aHungProviderTimesOutAndIsNotRetriedInPlace(wire: String) async throws {
    // Unary calls are bounded by attempt_ms (the head of a real unary answer comes
    // when the generation is done); streams by first_token_ms.
    let route = "r: {candidates: [a/m-a, b/m-b], timeouts: {first_token_ms: 150, attempt_ms: 1500}}"
    try await E2E.withStack(wire, routes: [route]) { s in
      s["a"].script(model: "m-a", .hang)
      let t0 = ContinuousClock.now
      let r = try await s.client.complete(TestSupport.request(route: "r"))
      #expect(ContinuousClock.now - t0 < .seconds(15), "bounded by attempt_ms (1.5 s)")
      #expect(r.provider == "b")
      #expect(r.content == E2E.answer("b"))
      #expect(s.attempts("a").count == 1, "a silent timeout is not retried on the same candidate")
      let x = try await s.explain(r.requestID)
      #expect(x.event.attempts.map(\.provider) == ["a", "b"])
      #expect(x.event.attempts[0].reasonCode == "timeout")
      #expect(x.event.attempts[0].failureClass == "transient")
      #expect(x.event.attempts[0].latencyMs >= 1400)

      // Streamed: the first-token limit.
      s["a"].script(model: "m-a", .hang)
      let st = try await s.stream("r")
      #expect(st.response?.provider == "b")
      #expect(st.restarts.isEmpty, "nothing reached the client before the hang: fail over is transparent")
      #expect(st.chunks.allSatisfy { $0.provider == "b" })
      #expect(s.attempts("a").count == 2)
      let xs = try await s.explain(st.response?.requestID ?? "")
      #expect(xs.event.attempts.first?.reasonCode == "first_token_timeout")
    }
  }

  /// long-unary through the daemon: a non-streamed generation far longer than
  /// first_token_ms succeeds on the first provider, once. The config is scaled
  /// (first_token_ms 200, a 1.2 s generation, attempt_ms 5 s) to prove the rule of the
  /// default config (8 s first token, a 20 s generation, attempt_ms 30 s) without a slow test.
  @Test(arguments: ["openai", "anthropic"])
  func aLongUnaryGenerationSucceedsOnceThroughTheDaemon(wire: String) async throws {
    let route = "r: {candidates: [a/m-a, b/m-b], timeouts: {first_token_ms: 200, attempt_ms: 5000}}"
    try await E2E.withStack(wire, routes: [route]) { s in
      s["a"].script(model: "m-a", .slowFirstToken(milliseconds: 1200))
      let r = try await s.client.complete(TestSupport.request(route: "r"))
      #expect(r.provider == "a", "not failed over: the generation was within attempt_ms")
      #expect(r.content == E2E.answer("a"))
      #expect(s.attempts("a").count == 1, "paid once")
      #expect(s.attempts("b").isEmpty)
      let x = try await s.explain(r.requestID)
      #expect(x.event.attempts.count == 1)
      #expect(x.event.attempts[0].latencyMs >= 1150)
    }
  }

  /// Many concurrent calls to one plain-HTTP/1.1 provider (vLLM, Ollama) are all in
  /// flight at once: the HTTP client's per-host pool is sized from `listen.max_in_flight`,
  /// not left at AsyncHTTPClient's default of 8 connections (which queued the 9th call
  /// behind a whole generation). 16 generations of 6 s each all reach the provider
  /// well before the first has finished (queued, the 9th would arrive 6 s after the
  /// first; 1.5 s generations and a 1.2 s bound left too little room on a loaded machine).
  @Test func concurrentCallsToOneProviderAreNotQueuedBehindEightConnections() async throws {
    try await E2E.withStack("openai", providers: ["a"], routes: ["r: {candidates: [a/m-a], timeouts: {attempt_ms: 30000}}"]) { s in
      for _ in 0..<16 { s["a"].script(model: "m-a", .slowFirstToken(milliseconds: 6000)) }
      try await withThrowingTaskGroup(of: Void.self) { group in
        for _ in 0..<16 { group.addTask { _ = try await s.client.complete(TestSupport.request(route: "r")) } }
        try await group.waitForAll()
      }
      let arrivals = s.attempts("a").map(\.at)
      #expect(arrivals.count == 16)
      if let first = arrivals.min(), let last = arrivals.max() {
        #expect(last - first < .milliseconds(4500), "the 16th call reached the provider only after \(last - first)")
      }
    }
  }

  // MARK: 5. stream cut

  /// The fake's event index after which the answer has produced two text deltas.
  private static func cutPoint(_ wire: String) -> Int { wire == "anthropic" ? 5 : 3 }

  @Test(arguments: ["openai", "anthropic"])
  func aStreamCutMidAnswerRestartsOnTheNextProvider(wire: String) async throws {
    let route = "r: {candidates: [a/m-a, b/m-b], on_stream_failure: restart}"
    try await E2E.withStack(wire, routes: [route]) { s in
      s["a"].script(model: "m-a", .streamCut(afterChunks: Self.cutPoint(wire)))
      let st = try await s.stream("r")
      let final = try #require(st.response, "no success: \(String(describing: st.status))")
      let restartAt = try #require(st.frames.firstIndex { if case .streamRestart = $0.body { return true }; return false })
      let before = st.frames[..<restartAt].compactMap { if case .completionChunk(let c) = $0.body { return c }; return nil }
      #expect(!before.isEmpty, "the client got chunks of the first answer")
      #expect(before.allSatisfy { $0.provider == "a" })
      #expect(before.map(\.delta).joined() == "fake answer")
      #expect(st.restarts.count == 1)
      let restart = st.restarts[0]
      #expect(restart.reasonCode == "stream_cut")
      #expect(restart.failedProvider == "a" && restart.nextProvider == "b")
      #expect(st.textSinceLastRestart == E2E.answer("b"))
      #expect(final.content == E2E.answer("b"), "the final answer holds only the second provider's text")
      #expect(final.provider == "b")
      let x = try await s.explain(final.requestID)
      #expect(x.event.attempts.map(\.reasonCode) == ["stream_cut", ""])
    }
  }

  @Test(arguments: ["openai", "anthropic"])
  func aStreamCutMidAnswerWithErrorPolicyEndsWithATerminalStatus(wire: String) async throws {
    let route = "r: {candidates: [a/m-a, b/m-b], on_stream_failure: error}"
    try await E2E.withStack(wire, routes: [route]) { s in
      s["a"].script(model: "m-a", .streamCut(afterChunks: Self.cutPoint(wire)))
      let st = try await s.stream("r")
      #expect(st.response == nil, "a truncated answer is never reported as success")
      let status = try #require(st.status)
      #expect(status.code == .unavailable)
      #expect(status.reasonCode == "stream_cut")
      if case .status? = st.frames.last?.body {} else { Issue.record("the status is not the last frame") }
      #expect(st.restarts.isEmpty)
      #expect(!st.chunks.isEmpty)
      #expect(s.attempts("b").isEmpty)
    }
  }

  // MARK: 6. context length

  @Test(arguments: ["openai", "anthropic"])
  func contextLengthFailsOverOnlyToALargerWindow(wire: String) async throws {
    let models = [
      "a": "{input: 1.0, output: 2.0, context: 32000, max_output: 1024, capabilities: [streaming]}",
      "b": "{input: 1.0, output: 2.0, context: 16000, max_output: 1024, capabilities: [streaming]}",
      "c": "{input: 3.0, output: 6.0, context: 128000, max_output: 1024, capabilities: [streaming]}",
    ]
    try await E2E.withStack(wire, providers: ["a", "b", "c"], models: models,
                            routes: ["r: {candidates: [a/m-a, b/m-b, c/m-c]}"]) { s in
      s["a"].script(model: "m-a", .contextLengthExceeded)
      let r = try await s.client.complete(TestSupport.request(route: "r"))
      #expect(r.provider == "c")
      #expect(s.attempts("a").count == 1)
      #expect(s.attempts("b").isEmpty, "a smaller window is not tried")
      #expect(s.attempts("c").count == 1)
      let x = try await s.explain(r.requestID)
      #expect(x.event.attempts.map(\.provider) == ["a", "b", "c"])
      #expect(x.event.attempts[0].reasonCode == "context_length_exceeded")
      #expect(x.event.attempts[0].failureClass == "semantic")
      #expect(x.event.attempts[1].outcome == "skipped" && x.event.attempts[1].reasonCode == "context_too_small")
      #expect(x.event.attempts[2].outcome == "success")
    }
  }

  // MARK: 7. content policy

  @Test(arguments: ["openai", "anthropic"])
  func contentPolicyPropagatesUnlessTheRouteOptsIn(wire: String) async throws {
    let routes = [
      "strict: {candidates: [a/m-a, b/m-b]}",
      "lenient: {candidates: [a/m-a, b/m-b], content_policy_fallback: true}",
    ]
    try await E2E.withStack(wire, routes: routes) { s in
      s["a"].script(model: "m-a", .contentPolicy)
      guard case .failure(let e) = await s.complete("strict") else { Issue.record("a refused request succeeded"); return }
      #expect(e.status.code == .upstreamRejected)
      #expect(e.status.reasonCode == "content_policy")
      #expect(!e.status.retryable)
      #expect(s.attempts("a").count == 1)
      #expect(s.attempts("b").isEmpty, "the next candidate is not tried")
      let x = try await s.explain(e.status.requestID)
      #expect(x.event.attempts.map(\.reasonCode) == ["content_policy"])
      #expect(x.event.attempts[0].failureClass == "semantic")

      s["a"].script(model: "m-a", .contentPolicy)
      guard case .success(let r) = await s.complete("lenient") else { Issue.record("content_policy_fallback did not fail over"); return }
      #expect(r.provider == "b")
      #expect(s.attempts("a").count == 2)
      #expect(s.attempts("b").count == 1)
      // Semantic failures never trip a breaker.
      let health = s.runtime.router.health.snapshot(now: s.runtime.router.clock.now())
      #expect(!health.contains { $0.key.provider == "a" && $0.state != "closed" })
    }
  }

  /// A 200 whose answer the provider's safety system stopped (OpenAI
  /// `finish_reason: content_filter`, Anthropic `stop_reason: refusal`) is not a
  /// success: semantic `content_policy`, following `content_policy_fallback`.
  @Test(arguments: ["openai", "anthropic"], [false, true])
  func aContentFilteredOrRefused200IsContentPolicy(wire: String, stream: Bool) async throws {
    let routes = [
      "strict: {candidates: [a/m-a, b/m-b]}",
      "lenient: {candidates: [a/m-a, b/m-b], content_policy_fallback: true}",
    ]
    try await E2E.withStack(wire, routes: routes) { s in
      s["a"].script(model: "m-a", .contentFilterFinish)
      let strictID: String
      if stream {
        let st = try await s.stream("strict")
        #expect(st.response == nil, "a filtered stream is not reported as a success")
        let status = try #require(st.status)
        #expect(status.code == .upstreamRejected)
        #expect(status.reasonCode == "content_policy")
        strictID = status.requestID
      } else {
        guard case .failure(let e) = await s.complete("strict") else { Issue.record("a filtered 200 was a success"); return }
        #expect(e.status.code == .upstreamRejected)
        #expect(e.status.reasonCode == "content_policy")
        strictID = e.status.requestID
      }
      #expect(s.attempts("b").isEmpty)
      let x = try await s.explain(strictID)
      #expect(x.event.attempts.map(\.reasonCode) == ["content_policy"])
      #expect(x.event.attempts[0].failureClass == "semantic")
      #expect(x.event.attempts[0].httpStatus == 200)

      s["a"].script(model: "m-a", .contentFilterFinish)
      if stream {
        let st = try await s.stream("lenient")
        #expect(st.response?.provider == "b")
        #expect(st.textSinceLastRestart == E2E.answer("b"))
      } else {
        guard case .success(let r) = await s.complete("lenient") else { Issue.record("content_policy_fallback did not fail over"); return }
        #expect(r.provider == "b")
        #expect(r.content == E2E.answer("b"))
      }
      let health = s.runtime.router.health.snapshot(now: s.runtime.router.clock.now())
      #expect(!health.contains { $0.key.provider == "a" && $0.state != "closed" })
    }
  }

  // MARK: 8. outage and recovery

  @Test(arguments: ["openai", "anthropic"])
  func aDownPrimaryIsBypassedAndGetsTrafficBackAfterRecovery(wire: String) async throws {
    let circuit = "{failure_threshold: 1, base_cooldown_ms: 100, max_cooldown_ms: 200, jitter: 0}"
    // connect_ms generous: a refused connection fails at once anyway, and a 300 ms
    // connect to the revived fake could time out on a loaded machine.
    let route = "r: {candidates: [a/m-a, b/m-b], timeouts: {connect_ms: 3000}}"
    try await E2E.withStack(wire, circuit: circuit, routes: [route]) { s in
      let port = s["a"].port
      try await s["a"].shutdown()  // connection refused from now on

      let first = try await s.client.complete(TestSupport.request(route: "r"))
      #expect(first.provider == "b")
      let x1 = try await s.explain(first.requestID)
      #expect(x1.event.attempts.first?.provider == "a")
      #expect(x1.event.attempts.first?.reasonCode == "connect_failed")
      #expect(x1.event.attempts.first?.failureClass == "transient")

      // While a is down every request is served by b, and the open circuit keeps
      // (most of) them from even trying a.
      var sawCircuitOpen = false
      for _ in 0..<20 where !sawCircuitOpen {
        let r = try await s.client.complete(TestSupport.request(route: "r"))
        #expect(r.provider == "b")
        let x = try await s.explain(r.requestID)
        sawCircuitOpen = x.event.candidates.contains { $0.provider == "a" && $0.rejectionReason == "circuit_open" }
          || x.event.attempts.contains { $0.provider == "a" && $0.reasonCode == "circuit_open" }
      }
      #expect(sawCircuitOpen)

      // a comes back on the same port.
      var config = FakeProvider.Configuration()
      config.port = port
      let revived = FakeProvider(configuration: config)
      try await revived.start()
      do {
        var servedByA: Switchboard_V1_CompletionResponse?
        for _ in 0..<200 {
          let r = try await s.client.complete(TestSupport.request(route: "r"))
          if r.provider == "a" { servedByA = r; break }
          try await Task.sleep(for: .milliseconds(10))  // polling interval, bounded
        }
        let probe = try #require(servedByA, "traffic never returned to the recovered primary")
        #expect(probe.content == E2E.answer("a"))
        #expect(revived.attempts.count == 1, "exactly one probe reached the recovered primary")
        // The circuit closed: traffic stays on a.
        for _ in 0..<3 {
          let r = try await s.client.complete(TestSupport.request(route: "r"))
          #expect(r.provider == "a")
        }
        #expect(revived.attempts.count == 4)
      } catch {
        try? await revived.shutdown()
        throw error
      }
      try await revived.shutdown()
    }
  }

  // MARK: 9. keys

  @Test(arguments: ["openai", "anthropic"])
  func aRejectedKeyRotatesToTheNextOfThePoolAndAdminKeysTakeEffect(wire: String) async throws {
    let k1 = "sk-test-pool-key-one-111111", k2 = "sk-test-pool-key-two-222222"
    let k3 = "sk-test-admin-set-333333", k4 = "sk-test-admin-rotated-444444"
    try await E2E.withStack(wire, providers: ["a"], keys: ["a": [k1, k2]], routes: ["r: {candidates: [a/m-a]}"]) { s in
      s["a"].script(model: "m-a", .unauthorized)
      let r = try await s.client.complete(TestSupport.request(route: "r"))
      #expect(r.provider == "a")
      #expect(s.attempts("a").map(E2E.key) == [k1, k2])
      let x = try await s.explain(r.requestID)
      try #require(x.event.attempts.count == 2)
      let (bad, good) = (x.event.attempts[0], x.event.attempts[1])
      #expect(bad.reasonCode == "invalid_credentials" && bad.failureClass == "hard" && bad.httpStatus == 401)
      #expect(good.outcome == "success")
      #expect(bad.keySource == "config" && good.keySource == "config")
      #expect(bad.keyFingerprint != good.keyFingerprint)
      #expect(bad.keyFingerprint == Secret(k1).fingerprint && good.keyFingerprint == Secret(k2).fingerprint)

      // set_key: the store's key wins over the config's, without a restart.
      var set = Switchboard_V1_AdminRequest()
      var sk = Switchboard_V1_SetKeyRequest(); sk.provider = "a"; sk.apiKey = k3
      set.kind = .setKey(sk)
      let setResponse = try await s.client.admin(set).setKey
      #expect(setResponse.keyFingerprint == Secret(k3).fingerprint)
      let r3 = try await s.client.complete(TestSupport.request(route: "r"))
      #expect(s.attempts("a").last.flatMap(E2E.key) == k3)
      let x3 = try await s.explain(r3.requestID)
      #expect(x3.event.attempts.last?.keySource == "store")
      #expect(x3.event.attempts.last?.keyFingerprint == Secret(k3).fingerprint)

      // rotate_key to a new key.
      var rot = Switchboard_V1_AdminRequest()
      var rk = Switchboard_V1_RotateKeyRequest(); rk.provider = "a"; rk.apiKey = k4
      rot.kind = .rotateKey(rk)
      let rotResponse = try await s.client.admin(rot).rotateKey
      #expect(rotResponse.activeKeyFingerprint == Secret(k4).fingerprint)
      _ = try await s.client.complete(TestSupport.request(route: "r"))
      #expect(s.attempts("a").last.flatMap(E2E.key) == k4)

      // rotate_key without a key advances the pool: back to k3.
      rk.apiKey = ""; rot.kind = .rotateKey(rk)
      let advanced = try await s.client.admin(rot).rotateKey
      #expect(advanced.activeKeyFingerprint == Secret(k3).fingerprint)
      _ = try await s.client.complete(TestSupport.request(route: "r"))
      #expect(s.attempts("a").last.flatMap(E2E.key) == k3)
    }
  }

  // MARK: 10. no leak

  @Test(arguments: ["openai", "anthropic"])
  func theKeyLeaksIntoNoLogStatusMetricOrAuditRow(wire: String) async throws {
    let canary = "sk-test-LEAKCANARY-1234567890"
    let lines = LogLines()
    let logger = Logger(label: "switchboard") { label in
      SwitchboardLogging.makeHandler(label: label, format: .logfmt, level: .trace, sink: { lines.append($0) })
    }
    let routes = [
      "solo_a: {candidates: [a/m-a]}",
      "solo_b: {candidates: [b/m-b]}",
      "both: {candidates: [a/m-a, b/m-b]}",
    ]
    try await E2E.withStack(wire, keys: ["a": [canary], "b": [canary]],
                            circuit: "{failure_threshold: 10, base_cooldown_ms: 100, max_cooldown_ms: 200, jitter: 0}",
                            routes: routes, logger: logger) { s in
      var statuses: [Switchboard_V1_Status] = []
      // 401 whose message echoes the key (a careless provider).
      s["a"].script(model: "m-a", .unauthorized)
      if case .failure(let e) = await s.complete("solo_a") { statuses.append(e.status) } else { Issue.record("401 succeeded") }
      // 5xx whose body echoes the key.
      let echo = "{\"error\":{\"message\":\"upstream broke for key \(canary)\",\"type\":\"api_error\"}}"
      for _ in 0..<2 { s["b"].script(model: "m-b", .status(500, body: echo)) }
      if case .failure(let e) = await s.complete("solo_b") { statuses.append(e.status) } else { Issue.record("5xx succeeded") }
      // A streamed failure, a streamed success, and a fail over.
      s["b"].script(model: "m-b", .status(502, body: echo), .status(502, body: echo))
      let failedStream = try await s.stream("solo_b")
      if let st = failedStream.status { statuses.append(st) } else { Issue.record("streamed 5xx succeeded") }
      let okStream = try await s.stream("solo_b")
      #expect(okStream.response != nil)
      s["a"].script(model: "m-a", .unauthorized)
      if case .success(let r) = await s.complete("both") { #expect(!r.content.isEmpty) } else { Issue.record("fail over failed") }
      // Admin statuses too.
      var bad = Switchboard_V1_AdminRequest()
      var sk = Switchboard_V1_SetKeyRequest(); sk.provider = "nope"; sk.apiKey = canary
      bad.kind = .setKey(sk)
      do { _ = try await s.client.admin(bad); Issue.record("unknown provider accepted") } catch let e as SwitchboardStatusError {
        statuses.append(e.status)
      }

      // The key really went out: the test is not vacuous.
      let sent = (s.attempts("a") + s.attempts("b")).compactMap(E2E.key)
      #expect(sent.count >= 6)
      #expect(sent.allSatisfy { $0 == canary })

      await s.runtime.audit.flush()
      let logs = lines.all
      #expect(!logs.isEmpty, "no log line was captured")
      for line in logs { #expect(!line.contains(canary), "log line leaks the key: \(line)") }
      #expect(statuses.count >= 4)
      for st in statuses {
        #expect(!st.message.contains(canary), "status leaks the key: \(st.message)")
        #expect(!st.reasonCode.contains(canary))
      }
      for f in failedStream.frames + okStream.frames {
        #expect((try f.serializedData()).range(of: Data(canary.utf8)) == nil, "a stream frame leaks the key")
      }
      let metrics = s.runtime.metrics.render(circuits: s.runtime.router.health.snapshot(now: s.runtime.router.clock.now()), budgets: [])
      #expect(!metrics.isEmpty)
      #expect(!metrics.contains(canary), "the metrics leak the key")
      let events = try await s.runtime.audit.events(filter: DecisionFilter())
      #expect(events.count >= 5)
      let encoder = JSONEncoder()
      for e in events {
        let json = String(decoding: try encoder.encode(e), as: UTF8.self)
        #expect(!json.contains(canary), "decision \(e.requestID) leaks the key")
      }
      // Nor do the audit database's bytes on disk.
      for file in ["audit.sqlite", "audit.sqlite-wal"] {
        guard let bytes = FileManager.default.contents(atPath: s.dir + "/" + file) else { continue }
        #expect(bytes.range(of: Data(canary.utf8)) == nil, "\(file) holds the key")
      }
      // Explain text (what `switchboard explain` prints) too.
      for e in events {
        let x = try await s.explain(e.requestID)
        #expect(!x.text.contains(canary))
        #expect((try x.serializedData()).range(of: Data(canary.utf8)) == nil)
      }
    }
  }
}
