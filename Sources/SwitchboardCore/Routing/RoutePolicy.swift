/// "provider/model": one model of one configured provider.
public struct CandidateRef: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
  /// The provider instance name from the config.
  public var provider: String
  /// The model id as the provider knows it (may itself contain `/`).
  public var model: String
  /// Creates a reference.
  public init(provider: String, model: String) { self.provider = provider; self.model = model }
  /// Parses "provider/model" (split at the first `/`); nil when either part is empty.
  public init?(parsing text: String) {
    guard let slash = text.firstIndex(of: "/") else { return nil }
    let p = String(text[..<slash]), m = String(text[text.index(after: slash)...])
    guard !p.isEmpty, !m.isEmpty else { return nil }
    self.init(provider: p, model: m)
  }
  public var description: String { "\(provider)/\(model)" }
  public static func < (a: CandidateRef, b: CandidateRef) -> Bool { a.description < b.description }
}

/// One candidate of a route.
public struct CandidateSpec: Hashable, Sendable {
  public var ref: CandidateRef
  /// Relative weight for the `weighted` strategy.
  public var weight: Double
  /// Creates a candidate.
  public init(_ ref: CandidateRef, weight: Double = 1) { self.ref = ref; self.weight = weight }
}

/// How a route ranks its eligible candidates.
public enum StrategyKind: String, Sendable, Hashable, CaseIterable, Codable {
  case priority, roundRobin = "round_robin", weighted, latency, cost, leastBusy = "least_busy", score
  /// Rules, then (when ambiguous) an LLM router call pick one of the route's
  /// tiers (``TieredPolicy``); the chosen tier's candidates run in config order.
  case tiered
}

/// What to do when a stream fails after the client has seen part of the answer.
public enum StreamFailurePolicy: String, Sendable, Hashable, CaseIterable, Codable {
  /// Send `StreamRestart`, then the next provider's whole stream.
  case restart
  /// Continue with assistant prefill where the next candidate supports it, else restart.
  case `continue`
  /// End the call with a terminal error status.
  case error
}

/// Attempt bounds of a route.
public struct RetryPolicy: Sendable, Hashable {
  /// Attempts across all candidates (including same-candidate retries).
  public var maxAttempts: Int = 4
  /// Overall deadline of a request.
  public var deadline: Duration = .seconds(30)
  /// Retries of the same candidate, only where cheap.
  public var sameCandidateRetries: Int = 1
  /// The longest in-place wait (back-off or Retry-After, whichever is longer)
  /// before a same-candidate retry; a longer one fails over instead.
  public var retryAfterMax: Duration = .seconds(5)
  /// Back-off before the first same-candidate retry; each further one multiplies
  /// it by `backoffMultiplier`, up to `backoffMax`; each wait is jittered to
  /// [d/2, d]. Zero: no back-off.
  public var backoffBase: Duration = .milliseconds(200)
  public var backoffMax: Duration = .seconds(2)
  public var backoffMultiplier: Double = 2
  /// Creates the default policy.
  public init() {}
}

/// Per-attempt timeouts of a route.
public struct TimeoutPolicy: Sendable, Hashable {
  /// Connection establishment (until the request is written).
  public var connect: Duration = .seconds(2)
  /// Streamed: until the first content or tool-call delta. Never applies to unary calls.
  public var firstToken: Duration = .seconds(8)
  /// Streamed: longest gap between content events (keep-alives do not restart it).
  public var idle: Duration = .seconds(10)
  /// Streamed: how far keep-alives may stretch the gap between content events
  /// (nil: not at all, the gap is `idle`).
  public var keepAliveMax: Duration?
  /// One attempt, whole (the only limit after `connect` for a unary call).
  public var attempt: Duration = .seconds(30)
  /// Creates the default timeouts.
  public init() {}
}

/// Budgets of a route.
public struct BudgetPolicy: Sendable, Hashable {
  /// Caps per tenant on this route (scope `route:R/tenant:T`).
  public var perTenant = BudgetCaps()
  /// Caps for the whole route (scope `route:R`).
  public var perRoute = BudgetCaps()
  /// Creates an unlimited policy.
  public init() {}
  /// Daily cap per tenant on this route.
  public var perTenantDaily: BudgetLimit { get { perTenant.daily } set { perTenant.daily = newValue } }
  /// Daily cap for the whole route.
  public var perRouteDaily: BudgetLimit { get { perRoute.daily } set { perRoute.daily = newValue } }
}

/// Weights of the `score` strategy (normalised internally).
public struct ScoreWeights: Sendable, Hashable {
  public var cost = 0.4
  public var latency = 0.3
  public var reliability = 0.3
  /// Creates the default weights.
  public init() {}
}

/// Route-level hard caps.
public struct RouteConstraints: Sendable, Hashable {
  public var maxCostUSD: Double?
  public var latencySLA: Duration?
  public var required: Set<Capability> = []
  /// Reject candidates whose price is unknown.
  public var requireKnownPrices = false
  /// A candidate excluded by `latencySLA` still gets one trial request per this
  /// interval (tried first), so its p95 can recover; nil: no trials.
  public var slaTrialInterval: Duration? = .seconds(30)
  /// Creates empty constraints.
  public init() {}
}

/// A route: a named routing policy.
public struct RoutePolicy: Sendable {
  public var name: String
  public var candidates: [CandidateSpec]
  public var strategy: StrategyKind = .priority
  /// A custom strategy overrides `strategy`.
  public var customStrategy: (any RoutingStrategy)?
  /// The registered custom strategy the config names (`strategy: custom:NAME`);
  /// the daemon resolves it into `customStrategy`.
  public var customStrategyName: String?
  /// Seed of the `weighted` strategy's and the exploration's RNG.
  public var seed: UInt64 = 0
  /// `latency` strategy: the fraction of requests (ε) that try a random other
  /// candidate first, so a candidate's figures never go stale. 0 turns it off.
  public var exploration = 0.05
  public var scoreWeights = ScoreWeights()
  public var constraints = RouteConstraints()
  public var retry = RetryPolicy()
  public var timeouts = TimeoutPolicy()
  public var onStreamFailure: StreamFailurePolicy = .restart
  /// Fail over on a content-policy rejection instead of propagating it.
  public var contentPolicyFallback = false
  public var budget = BudgetPolicy()
  /// What crossing a soft cap does on this route.
  public var onSoftCap: SoftCapAction = .warn
  /// The name budget scopes use (`route:NAME`); `direct` for explicit provider/model requests.
  public var budgetName: String?
  /// `strategy: tiered`: the tiers, rules and router (nil for every other strategy).
  public var tiered: TieredPolicy?
  /// Hedged requests (nil: none, the default).
  public var hedge: HedgePolicy?

  /// Creates a route.
  public init(name: String, candidates: [CandidateSpec]) { self.name = name; self.candidates = candidates }

  /// The baseline candidate: the route's first.
  public var baseline: CandidateRef? { candidates.first?.ref }
}

/// Circuit breaker settings.
public struct CircuitPolicy: Sendable, Hashable {
  /// Consecutive transient failures that open a circuit (a hard failure opens it at once).
  public var failureThreshold = 3
  public var baseCooldown: Duration = .seconds(1)
  public var maxCooldown: Duration = .seconds(30)
  /// +- fraction of each cooldown.
  public var jitter = 0.2
  /// Creates the default policy.
  public init() {}
}
