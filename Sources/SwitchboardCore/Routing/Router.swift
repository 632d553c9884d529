import Logging
import Synchronization

/// The routing core's entry point: plans, executes and explains every request.
///
/// Holds the live configuration as an immutable snapshot; `reload` swaps it, and
/// a request in flight finishes under the snapshot it started with.
public final class Router: Sendable {
  struct Snapshot: Sendable {
    var configuration: RouterConfiguration
    var strategies: [String: any RoutingStrategy]
    var knownProviders: Set<String>
    var tenants: TenantResolver
  }
  private let snapshot: Mutex<Snapshot>
  /// Circuits per (provider, model, key).
  public let health: HealthBoard
  /// Observed latency and reliability.
  public let stats: CandidateStatsBoard
  /// Retry budget per provider.
  public let retryBudgets: RetryBudgetBoard
  private let random: SeededRandom
  /// Spend accounting.
  public let ledger: any BudgetLedger
  /// API keys.
  public let keys: KeyResolver
  /// The clock everything is measured on.
  public let clock: any RouterClock
  private let audit: any AuditSink
  private let idPrefix: String
  private let counter = Atomic<UInt64>(0)

  /// Creates a router. `seed` makes every random choice of the router (circuit and
  /// back-off jitter, exploration) repeatable; nil seeds from the system per process.
  public init(configuration: RouterConfiguration, keys: KeyResolver, ledger: any BudgetLedger = InMemoryBudgetLedger(),
              audit: any AuditSink = InMemoryAuditSink(), clock: any RouterClock = SystemClock(),
              idPrefix: String? = nil, seed: UInt64? = nil) {
    self.snapshot = Mutex(Self.makeSnapshot(configuration))
    self.health = HealthBoard(policy: configuration.circuit, seed: seed)
    self.stats = CandidateStatsBoard(clock: clock, window: configuration.latencyWindow)
    self.retryBudgets = RetryBudgetBoard(policy: configuration.retryBudget)
    self.random = SeededRandom(seed: seed.map { $0 &+ 0x9E37_79B9 })
    self.ledger = ledger
    self.keys = keys
    self.clock = clock
    self.audit = audit
    var rng = SystemRandomNumberGenerator()
    // 48 random bits: ids of two daemon runs sharing one audit store do not collide.
    self.idPrefix = idPrefix ?? (String(rng.next() & 0xFFFF_FFFF_FFFF | 0x1000_0000_0000, radix: 16) + "-")
  }

  private static func makeSnapshot(_ c: RouterConfiguration) -> Snapshot {
    var strategies: [String: any RoutingStrategy] = [:]
    for (name, route) in c.routes {
      strategies[name] = route.customStrategy ?? BuiltinStrategy.make(route.strategy, seed: route.seed, weights: route.scoreWeights,
                                                                               exploration: route.exploration)
    }
    return Snapshot(configuration: c, strategies: strategies, knownProviders: Set(c.adapters.keys),
                    tenants: TenantResolver(c.budgets.tenants))
  }

  /// Swaps in a new configuration; circuits, stats and spend carry over. The
  /// replaced configuration's custom strategies get `cleanup()`.
  public func reload(_ configuration: RouterConfiguration) {
    let s = Self.makeSnapshot(configuration)
    let old = snapshot.withLock { current -> Snapshot in defer { current = s }; return current }
    // Retire the replaced instances only (a reload may carry an instance over).
    let kept = configuration.routes.values.compactMap { $0.customStrategy.map { $0 as AnyObject } }
    for route in old.configuration.routes.values {
      guard let strategy = route.customStrategy, !kept.contains(where: { $0 === (strategy as AnyObject) }) else { continue }
      strategy.cleanup()
    }
    health.update(policy: configuration.circuit)
    retryBudgets.update(policy: configuration.retryBudget)
  }

  /// The configuration in force.
  public var configuration: RouterConfiguration { snapshot.withLock { $0.configuration } }

  /// The tenant a caller maps to under the configuration in force (`uid:N` when unmapped).
  public func tenant(of caller: CallerIdentity) -> String {
    snapshot.withLock { $0.tenants }.tenant(of: caller).name
  }

  /// Retires the custom strategies in force (the daemon stops): `cleanup()` on each.
  public func cleanupStrategies() {
    for route in configuration.routes.values { route.customStrategy?.cleanup() }
  }

  /// A fresh request id: a per-process random prefix and a counter, cheap and unique.
  /// Every request gets one; a client-supplied id is only a correlation id.
  public func nextRequestID() -> String {
    let n = counter.wrappingAdd(1, ordering: .relaxed).newValue
    return idPrefix + String(n, radix: 16)
  }

  /// Budget scopes a request on `route` by `tenant` draws on (see ``BudgetConfiguration/scopes(route:tenant:)``).
  public func budgetScopes(route: RoutePolicy, tenant: ResolvedTenant) -> [BudgetScope] {
    configuration.budgets.scopes(route: route, tenant: tenant)
  }

  /// Routes one request. Never throws: failures come back as `RoutingError` in
  /// the outcome, with the decision event that explains them (already recorded).
  ///
  /// The steps between the awaits are synchronous functions over one heap object
  /// (``RoutingCall``): an async function's frame keeps a slot for each value it
  /// holds, on the task's heap for as long as the call is in flight, and with the
  /// whole request inline this frame was ~50 KB per call (heaptrack; bench/README.md).
  public func complete(_ request: ChatRequest, context: RequestContext = .init(), sink: CompletionSink? = nil) async -> RoutedOutcome {
    switch prepare(request, context: context) {
    case .refused(let outcome):
      await audit.record(outcome.event)
      return outcome
    case .ready(let call):
      await execute(call, sink: sink)
      return await conclude(call)
    }
  }

  /// From the tier and the budget snapshot to the executed plan, into `call`. Not
  /// inlined: only what this step holds across its awaits is in its frame, and the
  /// frame is gone once the call is executed.
  @inline(never) private func execute(_ call: RoutingCall, sink: CompletionSink?) async {
    if let tiered = call.route.tiered { await selectTier(tiered, for: call) }
    if !call.scopes.isEmpty { call.budgetState = await ledger.snapshot(scopes: call.scopes, wallMillis: call.wallStart) }
    let executor = makeExecutor(call, sink: sink)
    if call.tier?.cancelled == true {
      call.executed = (.failure(RoutingError(.cancelled, .cancelled, "the request was cancelled")), RequestExecutor.Run())
    } else {
      call.executed = await executor.run(start: call.start)
    }
  }

  /// The decision event, recorded, and the outcome (not inlined: the event is only
  /// built once the call is over).
  @inline(never) private func conclude(_ call: RoutingCall) async -> RoutedOutcome {
    let outcome = finish(call)
    await audit.record(outcome.event)
    return outcome
  }

  /// Everything before the first await: the tenant, the route and its strategy,
  /// or the refusal (its event not yet recorded).
  @inline(never) private func prepare(_ request: ChatRequest, context: RequestContext) -> Prepared {
    let start = clock.now()
    let wallStart = clock.wallMillis()
    let snap = snapshot.withLock { $0 }
    let config = snap.configuration
    let requestID = context.issuedRequestID ?? nextRequestID()
    let correlationID = request.requestID?.isEmpty == false ? request.requestID : nil
    let resolved = context.tenant.map { Result<ResolvedTenant, RoutingError>.success($0) } ?? snap.tenants.resolve(context.caller, asserted: request.tenant)
    let tenantInfo: ResolvedTenant
    switch resolved {
    case .success(let t): tenantInfo = t
    case .failure(let err):
      // Recorded under the caller's own tenant; the name it asserted is not a scope.
      return .refused(refusal(err, requestID: requestID, correlationID: correlationID, wallStart: wallStart,
                              tenant: snap.tenants.tenant(of: context.caller).name,
                              route: request.route ?? request.explicitTarget?.description ?? "", request: request, context: context))
    }
    let tenant = tenantInfo.name
    if let problem = RequestTags.problem(request.tags) {
      // Over the bounds: refused, and the tags are not stored (the decision keeps the refusal).
      var untagged = request
      untagged.tags = [:]
      return .refused(refusal(RoutingError(.invalidArgument, RequestTags.reason, "invalid tags: \(problem)"), requestID: requestID,
                              correlationID: correlationID, wallStart: wallStart, tenant: tenant,
                              route: request.route ?? request.explicitTarget?.description ?? "", request: untagged, context: context))
    }

    var route: RoutePolicy
    let strategy: any RoutingStrategy
    if let target = request.explicitTarget {
      guard config.budgets.direct.enabled else {
        return .refused(refusal(RoutingError(.permissionDenied, "direct_disabled", "explicit provider/model requests are disabled (config direct.enabled)"),
                                requestID: requestID, correlationID: correlationID, wallStart: wallStart, tenant: tenant,
                                route: target.description, request: request, context: context))
      }
      route = config.budgets.direct.route(for: target)
      if let deadline = request.deadline { route.retry.deadline = deadline }
      strategy = PriorityStrategy()
    } else if let name = request.route, let r = config.routes[name], let st = snap.strategies[name] {
      route = r
      strategy = st
    } else {
      let name = request.route ?? ""
      let err = name.isEmpty
        ? RoutingError(.invalidArgument, .invalidRequest, "the request names neither a route nor a provider/model")
        : RoutingError(.notFound, .unknownRoute, "unknown route '\(name)'")
      return .refused(refusal(err, requestID: requestID, correlationID: correlationID, wallStart: wallStart, tenant: tenant,
                              route: name, request: request, context: context))
    }
    return .ready(RoutingCall(
      request: request, context: context, start: start, wallStart: wallStart, requestID: requestID, correlationID: correlationID,
      config: config, knownProviders: snap.knownProviders, tenantInfo: tenantInfo, route: route, strategy: strategy,
      scopes: config.budgets.scopes(route: route, tenant: tenantInfo)))
  }

  /// strategy: tiered — classify first (rules, then one router call); the chosen
  /// tier's candidates then run like any route's. Not inlined: its frame is only
  /// allocated for tiered routes.
  @inline(never)
  private func selectTier(_ tiered: TieredPolicy, for call: RoutingCall) async {
    var route = call.route
    call.tier = await selectTier(tiered, route: &route, request: call.request, requestID: call.requestID, config: call.config,
                                 scopes: call.scopes, start: call.start)
    call.route = route
  }

  /// Plans the candidates and builds the executor (synchronous).
  @inline(never) private func makeExecutor(_ call: RoutingCall, sink: CompletionSink?) -> RequestExecutor {
    let keys = self.keys, request = call.request
    let inputs = PlanningInputs(
      route: call.route, request: request, catalog: call.config.catalog, health: health, stats: stats,
      budgetScopes: call.scopes, budgetState: call.budgetState, estimator: call.config.budgets.estimator,
      keyFingerprints: { provider in keys.keys(for: provider, override: request.keyOverrides[provider]).map(\.fingerprint) },
      knownProviders: call.knownProviders, now: call.start, wallMillis: call.wallStart)
    let plan = CandidatePlanner.plan(inputs, strategy: call.strategy)
    call.plan = plan
    return RequestExecutor(
      requestID: call.requestID, route: call.route, strategy: call.strategy, request: request, plan: plan, catalog: call.config.catalog,
      adapters: call.config.adapters, health: health, stats: stats, retryBudgets: retryBudgets, random: random, ledger: ledger, keys: keys,
      clock: clock, scopes: call.scopes, sink: sink)
  }

  /// The decision event and the outcome of an executed call (synchronous; the
  /// caller records the event).
  @inline(never) private func finish(_ call: RoutingCall) -> RoutedOutcome {
    guard let (result, executed) = call.executed, let plan = call.plan else {
      preconditionFailure("finish before the call ran")
    }
    let route = call.route, request = call.request, config = call.config
    var run = executed
    if let tier = call.tier { addTierSpend(tier, to: &run) }

    var event = baseEvent(requestID: call.requestID, wallStart: call.wallStart, tenant: call.tenantInfo.name, route: route.name,
                          strategy: call.strategy.name, request: request, context: call.context)
    event.correlationID = call.correlationID
    event.subTenant = call.tenantInfo.subTenant
    event.candidates = plan.evaluations
    event.attempts = run.attempts
    event.baselineProvider = call.baseline?.provider
    event.baselineModel = call.baseline?.model
    event.tier = call.tier?.record
    event.totalSpendUSD = run.totalSpend.usd
    event.totalSpendMicroUSD = run.totalSpend.value
    event.overageMicroUSD = run.overage > .zero ? run.overage.value : nil
    event.stateBackend = (run.stateBackend ?? ledger.stateBackend).rawValue
    event.budgetScopes = call.scopes.map(\.account)
    event.caps = call.budgetState.map(BudgetCapRecord.init)
    event.costCapUSD = route.costCapUSD(for: request)
    event.latencySLAMs = route.latencySLA(for: request)?.milliseconds
    event.warnings = run.warnings
    event.hedge = run.hedge
    if plan.rerankedCheapest { event.warnings.append("soft_cap_cheapest") }
    let latency = clock.now().duration(since: call.start)
    event.totalLatencyMs = latency.milliseconds

    switch result {
    case .success(let (response, served, usage, cost)):
      let baselineInfo = call.baseline.flatMap { config.catalog.info(for: $0) }
      let baselineCost = baselineInfo?.cost(of: usage)?.total
      let delta = (cost?.total).flatMap { c in baselineCost.map { c - $0 } }
      event.outcome = .success
      event.chosenProvider = served.ref.provider
      event.chosenModel = served.ref.model
      event.costUSD = cost?.total
      event.costMicroUSD = cost == nil ? nil : served.info.budgetPrices?.cost(of: usage).value
      event.baselineCostUSD = baselineCost
      event.costDeltaUSD = delta
      event.usage = usage
      let completion = CompletionResult(
        requestID: call.requestID, route: route.name, response: response, served: served.ref,
        attempts: run.attemptCount, costUSD: cost?.total, costMicroUSD: event.costMicroUSD, totalSpendMicroUSD: run.totalSpend.value,
        baselineCostUSD: baselineCost, costDeltaUSD: delta,
        estimatedInputTokens: plan.estimatedInputTokens, latency: latency, summary: event.summary, warnings: event.warnings)
      return RoutedOutcome(result: .success(completion), event: event)
    case .failure(let error):
      event.outcome = error.code == .cancelled ? .cancelled : .failed
      event.statusCode = error.code
      event.reason = error.reason
      event.message = error.message
      return RoutedOutcome(result: .failure(error), event: event)
    }
  }

  /// The outcome of a request refused before planning (the caller records its event).
  @inline(never) private func refusal(_ err: RoutingError, requestID: String, correlationID: String?, wallStart: Int64, tenant: String,
                       route: String, request: ChatRequest, context: RequestContext) -> RoutedOutcome {
    var event = baseEvent(requestID: requestID, wallStart: wallStart, tenant: tenant, route: route, strategy: "",
                          request: request, context: context)
    event.correlationID = correlationID
    event.outcome = .failed; event.statusCode = err.code; event.reason = err.reason; event.message = err.message
    return RoutedOutcome(result: .failure(err), event: event)
  }

  private func baseEvent(requestID: String, wallStart: Int64, tenant: String, route: String, strategy: String,
                         request: ChatRequest, context: RequestContext) -> DecisionEvent {
    var event = DecisionEvent(
      requestID: requestID, timestampMs: wallStart, tenant: tenant, route: route, strategy: strategy,
      stream: request.stream, peerUID: context.peerUID, outcome: .failed, statusCode: nil, reason: nil, message: "",
      candidates: [], attempts: [], chosenProvider: nil, chosenModel: nil, baselineProvider: nil, baselineModel: nil,
      costUSD: nil, baselineCostUSD: nil, costDeltaUSD: nil, totalSpendUSD: 0, budgetScopes: [], usage: .zero,
      totalLatencyMs: 0, warnings: [], tags: request.tags.isEmpty ? nil : request.tags)
    event.traceID = context.traceID
    return event
  }
}
