extension RoutePolicy {
  /// The per-request worst-case cost cap that applies to `request`: the tighter of
  /// the request's and the route's `max_cost_usd` (the planner's rule).
  public func costCapUSD(for request: ChatRequest) -> Double? {
    [request.constraints.maxCostUSD, constraints.maxCostUSD].compactMap { $0 }.min()
  }

  /// The latency SLA that applies to `request`: the tighter of the request's and the route's.
  public func latencySLA(for request: ChatRequest) -> Duration? {
    [request.constraints.latencySLA, constraints.latencySLA].compactMap { $0 }.min()
  }
}
