/// `strategy: tiered` in the router: the tier step runs before planning, outside
/// the request executor, and narrows the route to the chosen tier's candidates.
extension Router {
  /// Classifies `request` (rules, then the router call when ambiguous) and sets
  /// `route.candidates` to the chosen tier's.
  func selectTier(_ tiered: TieredPolicy, route: inout RoutePolicy, request: ChatRequest, requestID: String,
                  config: RouterConfiguration, scopes: [BudgetScope], start: Instant) async -> TierSelection {
    let call = TierRouterCall(
      policy: tiered, request: request, requestID: requestID, catalog: config.catalog, adapters: config.adapters,
      health: health, keys: keys, ledger: ledger, scopes: scopes, estimator: config.budgets.estimator, clock: clock)
    let overallDeadline = start.advanced(by: request.deadline ?? route.retry.deadline)
    let selection = await TierSelection.select(tiered, request: request, router: call, start: start, overallDeadline: overallDeadline)
    route.candidates = selection.candidates
    return selection
  }

  /// Adds what the router calls spent to the run's totals (the event's total spend).
  func addTierSpend(_ tier: TierSelection, to run: inout RequestExecutor.Run) {
    run.totalSpend += tier.charged
    run.overage += tier.overage
    run.warnings.append(contentsOf: tier.warnings)
  }
}
