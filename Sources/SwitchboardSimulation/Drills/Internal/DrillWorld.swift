import SwitchboardCore
import Foundation
import Synchronization

/// A router on a virtual clock with simulated providers, and the helpers drills
/// share: traffic, timeline lines, invariant bookkeeping.
struct DrillWorld {
  static let primary = CandidateRef(provider: "sim-a", model: "llama-3.3")
  static let fallback = CandidateRef(provider: "sim-b", model: "claude-3.5")
  static let routeName = "payments-assist"
  static let tenant = "acme"

  /// The drills' catalog: a cheap fast primary, a dearer fallback that can continue a stream.
  static let catalog = ModelCatalog(instanceEntries: [
    primary: ModelInfo(inputPerMillion: 0.59, outputPerMillion: 0.79, contextWindow: 131_072, maxOutputTokens: 8192,
                       capabilities: [.streaming, .tools]),
    fallback: ModelInfo(inputPerMillion: 3, outputPerMillion: 15, contextWindow: 200_000, maxOutputTokens: 8192,
                        capabilities: [.streaming, .tools, .prefill]),
  ])

  /// The drills' default circuit settings.
  static var defaultCircuit: CircuitPolicy {
    var c = CircuitPolicy()
    c.failureThreshold = 3
    c.baseCooldown = .seconds(1)
    c.maxCooldown = .seconds(8)
    c.jitter = 0.2
    return c
  }

  /// The drills' default route: primary, then fallback.
  static func route(strategy: StrategyKind = .priority) -> RoutePolicy {
    var r = RoutePolicy(name: routeName, candidates: [CandidateSpec(primary), CandidateSpec(fallback)])
    r.strategy = strategy
    r.retry.maxAttempts = 3
    r.retry.deadline = .seconds(10)
    r.timeouts.attempt = .milliseconds(1200)
    r.timeouts.firstToken = .seconds(1)
    r.timeouts.idle = .milliseconds(500)
    return r
  }

  static func provider(_ name: String, seed: UInt64, p50: Int = 300, p99: Int = 600,
                       _ configure: (inout SimulatedProviderConfiguration) -> Void = { _ in }) -> SimulatedProvider {
    var c = SimulatedProviderConfiguration()
    c.seed = seed
    c.latencyP50 = .milliseconds(p50)
    c.latencyP99 = .milliseconds(p99)
    c.outputTokens = 24
    configure(&c)
    return SimulatedProvider(name: name, configuration: c)
  }

  let clock: VirtualClock
  let router: Router
  let audit: InMemoryAuditSink
  let ledger: InMemoryBudgetLedger
  let providers: [String: SimulatedProvider]
  let driver: VirtualTimeDriver
  let circuit: CircuitPolicy
  /// Wall milliseconds at virtual t=0.
  let wallOrigin: Int64

  init(route: RoutePolicy, providers: [SimulatedProvider], circuit: CircuitPolicy, retryBudget: RetryBudget.Policy = .init(),
       latencyWindow: Duration? = nil, catalog: ModelCatalog = DrillWorld.catalog, extraAdapters: [any ProviderAdapter] = []) {
    clock = VirtualClock()
    wallOrigin = clock.wallMillis()
    audit = InMemoryAuditSink()
    ledger = InMemoryBudgetLedger()
    self.circuit = circuit
    var adapters: [String: any ProviderAdapter] = [:]
    var byName: [String: SimulatedProvider] = [:]
    for p in providers { adapters[p.name] = p; byName[p.name] = p }
    for a in extraAdapters { adapters[a.name] = a }
    self.providers = byName
    var config = RouterConfiguration(routes: [route.name: route], adapters: adapters, catalog: catalog, circuit: circuit,
                                     retryBudget: retryBudget)
    if let latencyWindow { config.latencyWindow = latencyWindow }
    router = Router(configuration: config, keys: KeyResolver(settings: [:], environment: [:]), ledger: ledger,
                    audit: audit, clock: clock, idPrefix: "drill-", seed: 0x5EED)
    driver = VirtualTimeDriver(clock: clock)
  }

  /// A request on the drill route with a fixed id.
  static func request(_ i: Int, stream: Bool = false, maxTokens: Int = 200) -> ChatRequest {
    ChatRequest(route: routeName, messages: [ChatMessage(role: .user, content: "Summarise refund policy for order \(1000 + i).")],
                maxTokens: maxTokens, stream: stream, tenant: tenant, requestID: String(format: "req-%04d", i))
  }

  /// Runs `count` requests; request `i` arrives at `arrival(i)` on the virtual clock.
  func traffic(_ count: Int, stream: Bool = false, arrival: @escaping @Sendable (Int) -> Duration) async throws -> [RoutedOutcome] {
    let router = self.router, clock = self.clock
    return try await driver.run(count) { i in
      try await clock.sleep(until: Instant(nanoseconds: 0).advanced(by: arrival(i)))
      return await router.complete(Self.request(i, stream: stream))
    }
  }

  /// Virtual milliseconds of a wall timestamp.
  func ms(wall: Int64) -> Double { Double(wall - wallOrigin) }

  // MARK: Timeline

  /// Start (virtual ms) of attempt `a` of `event`.
  func start(_ event: DecisionEvent, _ a: AttemptRecord) -> Double { ms(wall: event.timestampMs) + a.startedOffsetMs }

  /// The lines of one request: plan, attempts, fallbacks, the outcome, the event.
  func lines(_ outcome: RoutedOutcome) -> [String] {
    let e = outcome.event
    let t0 = ms(wall: e.timestampMs)
    let rid = "request_id=\(e.correlationID ?? e.requestID)"
    var out: [String] = []
    let ranked = e.candidates.filter(\.eligible).sorted { $0.rank < $1.rank }
    if let first = ranked.first {
      var l = "t=\(fmt(t0))ms \(rid) route=\(e.route) strategy=\(e.strategy) provider=\(first.provider)/\(first.model)"
      if let s = first.score { l += " provider_score=\(String(format: "%.2f", s))" }
      if let w = first.worstCaseCostUSD { l += " budget_usd=\(formatUSD(w))" }
      out.append(l)
    } else {
      out.append("t=\(fmt(t0))ms \(rid) route=\(e.route) no_eligible_candidate")
    }
    for c in e.candidates where !c.eligible {
      out.append("t=\(fmt(t0))ms \(rid) rejected=\(c.provider)/\(c.model) reason=\(c.rejection?.rawValue ?? "?")")
    }
    var previous: String?
    for a in e.attempts {
      let ref = "\(a.provider)/\(a.model)"
      let t = start(e, a)
      let raced = a.hedge == true || a.hedgeLost == true || (e.hedge != nil && a.index == e.hedge?.winnerAttempt)
      if a.hedge == true, a.outcome != .skipped {
        out.append("t=\(fmt(t))ms \(rid) hedge=\(ref) started hedge_of=\(a.hedgeOf ?? 0)")
      } else if let p = previous, p != ref, a.outcome != .skipped, !raced {
        out.append("t=\(fmt(t))ms \(rid) fallback=\(ref) selected")
      }
      switch a.outcome {
      case .skipped:
        out.append("t=\(fmt(t))ms \(rid) skipped provider=\(ref) reason=\(a.reason?.rawValue ?? "?")" + (a.hedge == true ? " hedge=true" : ""))
      case .failed:
        var l = a.hedgeLost == true
          ? "t=\(fmt(t + a.latencyMs))ms \(rid) attempt=\(a.index) provider=\(ref) cancelled=lost_hedge_race"
          : "t=\(fmt(t + a.latencyMs))ms \(rid) attempt=\(a.index) provider=\(ref) failed=\(a.reason?.rawValue ?? "?") reason=\(a.reason?.rawValue ?? "?") class=\(a.failureClass?.rawValue ?? "?")"
        if a.probe { l += " probe=true" }
        if a.sameCandidateRetry { l += " retry=same_candidate" }
        if a.hedge == true { l += " hedge=true" }
        out.append(l)
      case .success:
        var l = "t=\(fmt(t + a.latencyMs))ms \(rid) attempt=\(a.index) provider=\(ref) ok"
        if a.probe { l += " probe=true" }
        if a.sameCandidateRetry { l += " retry=same_candidate" }
        if a.hedge == true { l += " hedge=true" }
        if a.hedgeLost == true { l += " hedge_lost=true" }
        out.append(l)
      }
      if a.outcome != .skipped { previous = ref }
    }
    let tEnd = t0 + e.totalLatencyMs
    switch outcome.result {
    case .success(let r):
      var l = "t=\(fmt(tEnd))ms \(rid) final provider=\(r.served) cost=\(r.costUSD.map(formatUSD) ?? "unknown") latency_ms=\(Int(r.latency.milliseconds)) attempts=\(r.attempts)"
      if let d = r.costDeltaUSD { l += " cost_delta_usd=\(formatUSD(d))" }
      out.append(l)
    case .failure(let err):
      out.append("t=\(fmt(tEnd))ms \(rid) final status=\(err.code.rawValue) reason=\(err.reason.rawValue) latency_ms=\(Int(e.totalLatencyMs))")
    }
    for w in e.warnings { out.append("t=\(fmt(tEnd))ms \(rid) warning=\(w)") }
    if audit.event(e.requestID) != nil { out.append("t=\(fmt(tEnd))ms \(rid) explainability_event=recorded") }
    return out
  }

  /// Every attempt that reached a provider (not skipped), with its request's event.
  func attempts(_ outcomes: [RoutedOutcome]) -> [(event: DecisionEvent, attempt: AttemptRecord)] {
    outcomes.flatMap { o in o.event.attempts.filter { $0.outcome != .skipped }.map { (o.event, $0) } }
  }
}

func fmt(_ ms: Double) -> String {
  ms == ms.rounded() ? String(Int(ms)) : String(format: "%.1f", ms)
}

/// Collects invariant checks of a drill.
struct DrillChecks {
  var checks: [String] = []
  var violations: [String] = []
  mutating func expect(_ ok: Bool, _ what: String, _ detail: @autoclosure () -> String = "") {
    checks.append(what)
    if !ok {
      let d = detail()
      violations.append(d.isEmpty ? what : "\(what): \(d)")
    }
  }
}
