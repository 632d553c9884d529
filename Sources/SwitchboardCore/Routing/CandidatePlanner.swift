/// The result of planning: eligible candidates in the order to try, and every
/// candidate's evaluation (rejections with reason codes).
public struct Plan: Sendable {
  public var ordered: [PlannedCandidate]
  public var evaluations: [CandidateEvaluation]
  public var estimatedInputTokens: Int
  public var maxTokens: Int
  /// Input tokens each reservation counts (``ReservationEstimator``).
  public var reservedInputTokens: Int = 0
  /// Whether a soft cap was crossed and `on_soft_cap: cheapest` re-ranked by cost.
  public var rerankedCheapest = false
}

/// Everything the planner reads; all in memory, no I/O.
public struct PlanningInputs: Sendable {
  public var route: RoutePolicy
  public var request: ChatRequest
  public var catalog: ModelCatalog
  public var health: HealthBoard
  public var stats: CandidateStatsBoard
  /// The scopes the request draws on.
  public var budgetScopes: [BudgetScope]
  /// The ledger's state of those scopes right now.
  public var budgetState: [BudgetSnapshot]
  /// How reservations bound input tokens.
  public var estimator: InputEstimator = .exact
  /// Key fingerprints of each provider's pool (circuits are per key).
  public var keyFingerprints: @Sendable (String) -> [String]
  /// Providers that exist in the config.
  public var knownProviders: Set<String>
  public var now: Instant
  public var wallMillis: Int64
  /// Creates inputs.
  public init(route: RoutePolicy, request: ChatRequest, catalog: ModelCatalog, health: HealthBoard,
              stats: CandidateStatsBoard, budgetScopes: [BudgetScope] = [], budgetState: [BudgetSnapshot] = [],
              estimator: InputEstimator = .exact,
              keyFingerprints: @escaping @Sendable (String) -> [String], knownProviders: Set<String>,
              now: Instant, wallMillis: Int64) {
    self.route = route; self.request = request; self.catalog = catalog; self.health = health
    self.stats = stats; self.budgetScopes = budgetScopes; self.budgetState = budgetState; self.estimator = estimator
    self.keyFingerprints = keyFingerprints; self.knownProviders = knownProviders
    self.now = now; self.wallMillis = wallMillis
  }
}

/// Applies the hard caps before any network call, then ranks by the route's strategy.
public enum CandidatePlanner {
  /// Default `max_tokens` when neither the request nor the model says.
  public static let defaultMaxTokens = 1024

  /// The model entry used when the catalog has none: unknown prices, no window check.
  static let unknownModel = ModelInfo(contextWindow: .max, maxOutputTokens: .max, capabilities: [.streaming])

  /// Plans `inputs.request` on `inputs.route` with `strategy`.
  public static func plan(_ inputs: PlanningInputs, strategy: any RoutingStrategy) -> Plan {
    let request = inputs.request
    let route = inputs.route
    let estimated = TokenEstimator.estimateInputTokens(request)
    let reservedInput = ReservationEstimator.inputTokens(request, estimator: inputs.estimator)
    let needed = request.impliedCapabilities.union(route.constraints.required)
    let costCap = [request.constraints.maxCostUSD, route.constraints.maxCostUSD].compactMap { $0 }.min()
    let sla = [request.constraints.latencySLA, route.constraints.latencySLA].compactMap { $0 }.min()
    let hardCapped = inputs.budgetScopes.contains { $0.limit.hard != nil }
    let exhausted = inputs.budgetState.first { s in s.limit.hard.map { s.spent + s.reserved >= $0 } ?? false }
    // The tightest hard cap: a candidate whose worst case does not fit is rejected here,
    // before any call, rather than refused at reservation time.
    let tightest = inputs.budgetState.compactMap { s in s.remaining.map { ("\(s.scope)@\(s.window)", $0) } }
      .min { $0.1 < $1.1 }
    let overSoft = inputs.budgetState.contains { s in s.limit.soft.map { s.spent + s.reserved >= $0 } ?? false }

    var eligible: [PlannedCandidate] = []
    var trials: [PlannedCandidate] = []
    var trialDetails: [CandidateRef: String] = [:]
    var evaluations: [CandidateEvaluation] = []
    var maxTokensSeen = request.maxTokens ?? defaultMaxTokens

    for spec in route.candidates {
      let ref = spec.ref
      func reject(_ code: ReasonCode, _ detail: String, worst: MicroUSD? = nil) {
        evaluations.append(CandidateEvaluation(provider: ref.provider, model: ref.model, eligible: false,
                                               rejection: code, detail: detail, worstCase: worst))
      }
      guard inputs.knownProviders.contains(ref.provider) else {
        reject(.unknownProvider, "provider '\(ref.provider)' is not configured"); continue
      }
      let catalogued = inputs.catalog.info(for: ref)
      let info = catalogued ?? unknownModel
      let maxTokens = request.maxTokens ?? min(defaultMaxTokens, info.maxOutputTokens)
      maxTokensSeen = max(maxTokensSeen, maxTokens)
      let worst = ReservationEstimator.worstCase(request, info: info, inputTokens: reservedInput)

      let missing = needed.subtracting(info.capabilities)
      if !missing.isEmpty {
        reject(.capabilityMissing, "lacks " + missing.sorted().map(\.rawValue).joined(separator: ","), worst: worst); continue
      }
      if info.contextWindow != .max && estimated + maxTokens > info.contextWindow {
        reject(.contextTooSmall, "needs \(estimated)+\(maxTokens) tokens, window \(info.contextWindow)", worst: worst); continue
      }
      if request.maxTokens != nil, info.maxOutputTokens != .max, maxTokens > info.maxOutputTokens {
        reject(.contextTooSmall, "max_tokens \(maxTokens) above the model's output cap \(info.maxOutputTokens)", worst: worst); continue
      }
      if worst == nil && (route.constraints.requireKnownPrices || costCap != nil || hardCapped) {
        let why = catalogued == nil ? "model not in catalog" : "price unknown"
        reject(.priceUnknown, why + (costCap != nil ? " and a cost cap is set"
                                     : hardCapped ? " and a hard budget cap applies (set assumed_price to allow it)"
                                     : " and the route requires known prices"))
        continue
      }
      if let cap = costCap.map({ MicroUSD(usd: $0) }), let w = worst, w > cap {
        reject(.overCostCap, "worst case \(w) > cap \(cap)", worst: worst); continue
      }
      var overSLA: String?
      if let sla, let p95 = inputs.stats.observation(ref).latencyP95, p95 > sla {
        overSLA = "p95 \(Int(p95.milliseconds))ms > SLA \(Int(sla.milliseconds))ms"
      }
      let fps = inputs.keyFingerprints(ref.provider)
      let circuits = (fps.isEmpty ? ["none"] : fps).map { CircuitKey(ref, keyFingerprint: $0) }
      if circuits.allSatisfy({ inputs.health.isBlocked($0, now: inputs.now) }) {
        reject(.circuitOpen, "every key's circuit is open", worst: worst); continue
      }
      if let exhausted {
        reject(.budgetExhausted, "\(exhausted.scope)@\(exhausted.window) hard cap reached", worst: worst); continue
      }
      if let (scope, left) = tightest, let w = worst, w > left {
        reject(.budgetExhausted, "worst case \(w) > \(left) left in \(scope)", worst: worst); continue
      }
      let planned = PlannedCandidate(spec: spec, info: info, worstCaseCost: worst?.usd, worstCase: worst)
      if let overSLA {
        // Excluded by the SLA, except for one trial request per interval (after every
        // other check passed), tried first so its latency can show a recovery.
        if let interval = route.constraints.slaTrialInterval,
           inputs.stats.claimTrial(ref, interval: interval, now: inputs.now) {
          trials.append(planned)
          trialDetails[ref] = "sla_trial: " + overSLA
        } else {
          reject(.overLatencySLA, overSLA, worst: worst)
        }
        continue
      }
      eligible.append(planned)
    }

    let ctx = StrategyContext(routeName: route.name, request: request, estimatedInputTokens: estimated, stats: inputs.stats)
    var ranked = strategy.rank(eligible, context: ctx)
    let cheapest = overSoft && route.onSoftCap == .cheapest && ranked.count > 1
    if cheapest {
      // Over a soft cap: cheapest worst case first (stable, so the strategy breaks ties).
      ranked = ranked.enumerated().sorted { a, b in
        let x = a.element.worstCase ?? MicroUSD(.max), y = b.element.worstCase ?? MicroUSD(.max)
        return x != y ? x < y : a.offset < b.offset
      }.map(\.element)
    }
    ranked = trials + ranked
    for (i, p) in ranked.enumerated() {
      evaluations.append(CandidateEvaluation(provider: p.ref.provider, model: p.ref.model, eligible: true,
                                             score: p.score, rank: i + 1, detail: trialDetails[p.ref] ?? "",
                                             worstCase: p.worstCase))
    }
    // Keep evaluations in the route's order for readability.
    let order = Dictionary(route.candidates.enumerated().map { ($0.element.ref.description, $0.offset) }, uniquingKeysWith: { a, _ in a })
    evaluations.sort { (order["\($0.provider)/\($0.model)"] ?? 0) < (order["\($1.provider)/\($1.model)"] ?? 0) }
    return Plan(ordered: ranked, evaluations: evaluations, estimatedInputTokens: estimated, maxTokens: maxTokensSeen,
                reservedInputTokens: reservedInput, rerankedCheapest: cheapest)
  }
}
