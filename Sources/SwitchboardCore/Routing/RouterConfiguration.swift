/// Everything the router needs from the config, already validated.
public struct RouterConfiguration: Sendable {
  /// Routes by name.
  public var routes: [String: RoutePolicy]
  /// Provider adapters by instance name.
  public var adapters: [String: any ProviderAdapter]
  /// Prices, limits and capabilities.
  public var catalog: ModelCatalog
  /// Circuit breaker settings.
  public var circuit: CircuitPolicy
  /// The retry budget every provider gets.
  public var retryBudget: RetryBudget.Policy
  /// How long a latency sample counts (read when the router is created).
  public var latencyWindow: Duration = .seconds(300)
  /// Digest of the config file this came from (shown by health).
  public var digest: String
  /// Budgets, tenants, the direct policy and the estimator.
  public var budgets: BudgetConfiguration

  /// Creates a configuration.
  public init(routes: [String: RoutePolicy], adapters: [String: any ProviderAdapter], catalog: ModelCatalog,
              circuit: CircuitPolicy = .init(), retryBudget: RetryBudget.Policy = .init(), digest: String = "",
              budgets: BudgetConfiguration = .init()) {
    self.routes = routes; self.adapters = adapters; self.catalog = catalog; self.circuit = circuit
    self.retryBudget = retryBudget; self.digest = digest; self.budgets = budgets
  }
}

/// Who sent a request, as the transport proved it.
public struct RequestContext: Sendable {
  /// Who is calling (socket peer, HTTP token, in-process code).
  public var caller: CallerIdentity
  /// The tenant, when the transport already resolved it; nil = the router resolves
  /// `caller` and the request's tenant with its ``TenantResolver``.
  public var tenant: ResolvedTenant?
  /// A request id this daemon already issued (``Router/nextRequestID()``) for a
  /// front end that must announce it before the decision exists (an HTTP stream's
  /// headers); nil = the router issues one. Never taken from a client.
  public var issuedRequestID: String?
  /// The W3C trace id (32 lowercase hex digits) the request runs under, recorded
  /// in its decision event; nil when the request is not traced.
  public var traceID: String?
  /// The peer's uid from SO_PEERCRED, when the caller is a socket peer.
  public var peerUID: UInt32? {
    if case .peer(let uid, _) = caller { return uid }
    return nil
  }
  /// Creates a context for `caller`.
  public init(caller: CallerIdentity, tenant: ResolvedTenant? = nil) { self.caller = caller; self.tenant = tenant }
  /// Creates a context for a socket peer with `peerUID`, or an in-process caller when nil.
  public init(peerUID: UInt32? = nil, gids: [UInt32] = []) {
    self.caller = peerUID.map { .peer(uid: $0, gids: gids) } ?? .inProcess
  }
}

/// What the client sees while a request runs.
public struct CompletionSink: Sendable {
  /// A delta of the answer, with the 1-based attempt and candidate that produced it.
  public var onDelta: @Sendable (StreamDelta, Int, CandidateRef) async throws -> Void
  /// The answer restarts on another candidate: the client must discard what it has.
  public var onRestart: @Sendable (StreamRestartInfo) async throws -> Void
  /// Creates a sink.
  public init(onDelta: @escaping @Sendable (StreamDelta, Int, CandidateRef) async throws -> Void,
              onRestart: @escaping @Sendable (StreamRestartInfo) async throws -> Void) {
    self.onDelta = onDelta; self.onRestart = onRestart
  }
}

/// Why and where a stream restarts.
public struct StreamRestartInfo: Sendable, Hashable {
  public var attempt: Int
  public var reason: ReasonCode
  public var failed: CandidateRef
  public var next: CandidateRef
}

/// A successful request.
public struct CompletionResult: Sendable {
  public var requestID: String
  public var route: String
  /// The whole answer (for `continue`, prefill plus continuation).
  public var response: ProviderResponse
  public var served: CandidateRef
  public var attempts: Int
  public var costUSD: Double?
  /// Cost of the served answer in micro-USD (the exact figure; `costUSD` is derived).
  public var costMicroUSD: Int64? = nil
  /// Everything the request spent, failed attempts included (micro-USD).
  public var totalSpendMicroUSD: Int64 = 0
  public var baselineCostUSD: Double?
  public var costDeltaUSD: Double?
  public var estimatedInputTokens: Int
  public var latency: Duration
  public var summary: String
  public var warnings: [String]
}

/// The outcome of one request and its decision event.
public struct RoutedOutcome: Sendable {
  public var result: Result<CompletionResult, RoutingError>
  public var event: DecisionEvent
}
