/// One request's state between the steps of ``Router/complete(_:context:sink:)``,
/// on the heap. An async function keeps a slot in its frame for every value it
/// holds (on the task's heap, for as long as the call is in flight); with the
/// route, the request, the plan, the run and the decision event inline, that frame
/// was ~50 KB per call in flight. The steps between the awaits are synchronous
/// functions of the router over this one reference.
final class RoutingCall {
  let request: ChatRequest
  let context: RequestContext
  let start: Instant
  let wallStart: Int64
  let requestID: String
  let correlationID: String?
  let config: RouterConfiguration
  let knownProviders: Set<String>
  let tenantInfo: ResolvedTenant
  /// The route (a tiered route's, with the chosen tier's candidates once selected).
  var route: RoutePolicy
  let strategy: any RoutingStrategy
  let scopes: [BudgetScope]
  /// The route's first candidate, before any tier replaced the candidates.
  let baseline: CandidateRef?
  var tier: TierSelection?
  var budgetState: [BudgetSnapshot] = []
  var plan: Plan?
  var executed: (Result<(ProviderResponse, PlannedCandidate, Usage, CostBreakdown?), RoutingError>, RequestExecutor.Run)?

  init(request: ChatRequest, context: RequestContext, start: Instant, wallStart: Int64, requestID: String, correlationID: String?,
       config: RouterConfiguration, knownProviders: Set<String>, tenantInfo: ResolvedTenant, route: RoutePolicy,
       strategy: any RoutingStrategy, scopes: [BudgetScope]) {
    self.request = request; self.context = context; self.start = start; self.wallStart = wallStart
    self.requestID = requestID; self.correlationID = correlationID; self.config = config
    self.knownProviders = knownProviders; self.tenantInfo = tenantInfo; self.route = route; self.strategy = strategy
    self.scopes = scopes; self.baseline = route.baseline
  }
}

/// What ``Router`` prepares before the first await: a refusal, or the call to run.
enum Prepared {
  case refused(RoutedOutcome)
  case ready(RoutingCall)
}
