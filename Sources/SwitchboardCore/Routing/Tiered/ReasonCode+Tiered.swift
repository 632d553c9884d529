/// Reason codes of the tier decision (``TierDecisionRecord/reason``).
extension ReasonCode {
  /// A rule picked the tier.
  public static let tierRule: ReasonCode = "rule"
  /// The router answered a valid tier.
  public static let tierRouter: ReasonCode = "router"
  /// The router did not answer within `router.timeout_ms` (or the request's deadline).
  public static let routerTimeout: ReasonCode = "router_timeout"
  /// Every router call failed (HTTP error, connection, missing key).
  public static let routerError: ReasonCode = "router_error"
  /// The router answered something other than one of its allowed tiers.
  public static let routerInvalid: ReasonCode = "router_invalid"
  /// Every router candidate's circuit is open: no call was made.
  public static let routerCircuitOpen: ReasonCode = "router_circuit_open"
  /// The router call's reservation did not fit the budgets: no call was made.
  public static let routerBudget: ReasonCode = "router_budget"
  /// The request was cancelled during the router call.
  public static let routerCancelled: ReasonCode = "router_cancelled"
  /// The route has no router candidates: ambiguous requests take the default tier.
  public static let noRouter: ReasonCode = "no_router"
}
