/// The policy explicit `provider/model` requests run under (config `direct:`).
public struct DirectPolicy: Sendable, Hashable {
  /// Whether a request may name a provider/model at all. Default: true.
  public var enabled = true
  /// Retry bounds of a direct request.
  public var retry = RetryPolicy()
  /// Timeouts of a direct request.
  public var timeouts = TimeoutPolicy()
  /// Budgets of all direct requests together (`route:direct`) and per tenant
  /// (`route:direct/tenant:T`).
  public var budget = BudgetPolicy()
  /// What crossing a soft cap does.
  public var onSoftCap: SoftCapAction = .warn
  /// Creates the default policy.
  public init() {}

  /// The synthetic route of a request for `target`.
  public func route(for target: CandidateRef) -> RoutePolicy {
    var r = RoutePolicy(name: target.description, candidates: [CandidateSpec(target)])
    r.retry = retry
    r.timeouts = timeouts
    r.budget = budget
    r.onSoftCap = onSoftCap
    r.budgetName = "direct"
    return r
  }
}
