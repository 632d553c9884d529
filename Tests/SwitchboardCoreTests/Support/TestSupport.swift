import Foundation
import Synchronization
import Testing

@testable import SwitchboardCore
import SwitchboardSimulation

/// One scripted step of a `ScriptedAdapter` call.
enum Step: Sendable {
  /// Answer after `after` with `text` (streamed in `chunks` pieces when streaming).
  case ok(String = "fine answer", after: Duration = .milliseconds(100), chunks: Int = 3)
  /// Fail with `failure` after `after`.
  case fail(ProviderFailure, after: Duration = .milliseconds(10))
  /// Say nothing until the attempt's deadline, then time out silently.
  case hang
  /// Stream `delivered` chunks, then fail with `failure`.
  case cut(delivered: Int, failure: ProviderFailure = ProviderFailure(.streamCut, message: "cut", afterHeaders: true))
}

/// A fake provider implementing the real protocol; sleeps on the call's clock.
final class ScriptedAdapter: ProviderAdapter {
  struct Call: Sendable {
    var at: Instant
    var keyFingerprint: String?
    var revealedKey: String?
    var prefill: String?
    var attempt: Int
  }
  let name: String
  var kind: String { "scripted" }
  var conventionalKeyEnvironmentVariable: String? { nil }
  let requiresKey: Bool
  private let state: Mutex<(script: [Step], fallback: Step, calls: [Call])>

  init(_ name: String, requiresKey: Bool = false, script: [Step] = [], then fallback: Step = .ok()) {
    self.name = name
    self.requiresKey = requiresKey
    state = Mutex((script, fallback, []))
  }

  var calls: [Call] { state.withLock { $0.calls } }

  func complete(_ call: ProviderCall, onDelta: DeltaHandler?) async throws -> ProviderResponse {
    let clock = call.clock
    let step: Step = state.withLock { s in
      s.calls.append(Call(at: clock.now(), keyFingerprint: call.apiKey?.fingerprint, revealedKey: call.apiKey?.reveal(),
                          prefill: call.prefill, attempt: call.attempt))
      return s.script.isEmpty ? s.fallback : s.script.removeFirst()
    }
    func sleep(_ d: Duration) async throws {
      let target = clock.now().advanced(by: d)
      if target > call.limits.deadline {
        try await clock.sleep(until: call.limits.deadline)
        throw ProviderFailure(call.limits.deadlineIsOverall ? .deadlineExceeded : .timeout, silent: true)
      }
      try await clock.sleep(until: target)
    }
    switch step {
    case .ok(let text, let after, let chunks):
      if let onDelta {
        let words = text.split(separator: " ").map(String.init)
        let per = max(1, (words.count + chunks - 1) / chunks)
        var sent = ""
        for (i, start) in stride(from: 0, to: words.count, by: per).enumerated() {
          try await sleep(after / chunks)
          var piece = words[start..<min(start + per, words.count)].joined(separator: " ")
          if i > 0 || call.prefill != nil { piece = " " + piece }
          sent += piece
          try await onDelta(.text(piece))
        }
        return ProviderResponse(content: sent, usage: Usage(inputTokens: 100, outputTokens: 50), model: call.model)
      }
      try await sleep(after)
      return ProviderResponse(content: (call.prefill != nil ? " " : "") + text, usage: Usage(inputTokens: 100, outputTokens: 50), model: call.model)
    case .fail(let f, let after):
      try await sleep(after)
      throw f
    case .hang:
      try await sleep(.seconds(86_400))
      throw ProviderFailure(.timeout, silent: true)
    case .cut(let delivered, let failure):
      for i in 0..<delivered {
        try await sleep(.milliseconds(20))
        try await onDelta?(.text(i == 0 && call.prefill == nil ? "part\(i)" : " part\(i)"))
      }
      throw failure
    }
  }
}

/// Refs and a catalog the tests share.
enum Fixture {
  static let a = CandidateRef(provider: "a", model: "m")
  static let b = CandidateRef(provider: "b", model: "m")
  static let c = CandidateRef(provider: "c", model: "m")

  static func info(input: Double? = 1, output: Double? = 2, window: Int = 100_000,
                   caps: Set<Capability> = [.streaming, .tools]) -> ModelInfo {
    ModelInfo(inputPerMillion: input, outputPerMillion: output, contextWindow: window, maxOutputTokens: 8192, capabilities: caps)
  }

  static var catalog: ModelCatalog {
    ModelCatalog(instanceEntries: [a: info(), b: info(input: 2, output: 4), c: info(input: 3, output: 6)])
  }

  static func route(_ name: String = "r", _ refs: [CandidateRef] = [a, b, c], strategy: StrategyKind = .priority) -> RoutePolicy {
    var r = RoutePolicy(name: name, candidates: refs.map { CandidateSpec($0) })
    r.strategy = strategy
    r.timeouts.attempt = .seconds(2)
    r.retry.deadline = .seconds(20)
    return r
  }

  static func request(route: String = "r", stream: Bool = false, maxTokens: Int = 100, id: String? = nil,
                      text: String = "hello there") -> ChatRequest {
    ChatRequest(route: route, messages: [ChatMessage(role: .user, content: text)], maxTokens: maxTokens, stream: stream,
                tenant: "t1", requestID: id)
  }
}

/// A router on a virtual clock with fakes.
struct TestWorld {
  let clock = VirtualClock()
  let audit = InMemoryAuditSink()
  let router: Router
  let driver: VirtualTimeDriver

  init(routes: [RoutePolicy], adapters: [any ProviderAdapter], catalog: ModelCatalog = Fixture.catalog,
       circuit: CircuitPolicy = .init(), keys: KeyResolver = KeyResolver(settings: [:], environment: [:]),
       ledger: any BudgetLedger = InMemoryBudgetLedger(), budgets: BudgetConfiguration = .init()) {
    var byName: [String: any ProviderAdapter] = [:]
    for a in adapters { byName[a.name] = a }
    let config = RouterConfiguration(routes: Dictionary(uniqueKeysWithValues: routes.map { ($0.name, $0) }),
                                     adapters: byName, catalog: catalog, circuit: circuit, budgets: budgets)
    router = Router(configuration: config, keys: keys, ledger: ledger, audit: audit, clock: clock, idPrefix: "t-")
    driver = VirtualTimeDriver(clock: clock)
  }

  /// Routes one request, driving virtual time until it finishes.
  func complete(_ request: ChatRequest, sink: CompletionSink? = nil) async throws -> RoutedOutcome {
    let router = self.router
    return try await driver.run { await router.complete(request, sink: sink) }
  }

  var nowMs: Double { clock.now().duration(since: Instant(nanoseconds: 0)).milliseconds }
}

extension RoutedOutcome {
  var value: CompletionResult? { try? result.get() }
  var error: RoutingError? { if case .failure(let e) = result { return e } else { return nil } }
  /// Attempts that reached a provider.
  var tried: [AttemptRecord] { event.attempts.filter { $0.outcome != .skipped } }
}

/// A stream client for tests.
final class CollectingSink: Sendable {
  enum Item: Sendable, Equatable { case delta(String, attempt: Int, ref: CandidateRef), restart(StreamRestartInfo) }
  let items = Mutex<[Item]>([])
  var sink: CompletionSink {
    CompletionSink(
      onDelta: { d, attempt, ref in if case .text(let t) = d { self.items.withLock { $0.append(.delta(t, attempt: attempt, ref: ref)) } } },
      onRestart: { info in self.items.withLock { $0.append(.restart(info)) } })
  }
  var all: [Item] { items.withLock { $0 } }
  var restarts: [StreamRestartInfo] { all.compactMap { if case .restart(let r) = $0 { return r } else { return nil } } }
  /// What a client holds: text since the last restart.
  var held: String {
    var s = ""
    for i in all {
      switch i {
      case .delta(let t, _, _): s += t
      case .restart: s = ""
      }
    }
    return s
  }
}

func failure(_ r: ReasonCode, status: Int? = nil, retryAfter: Duration? = nil, afterHeaders: Bool = false, silent: Bool = false) -> ProviderFailure {
  ProviderFailure(r, httpStatus: status, retryAfter: retryAfter, message: "test \(r)", afterHeaders: afterHeaders, silent: silent)
}
