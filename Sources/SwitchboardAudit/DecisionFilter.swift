import SwitchboardCore

/// Which decisions a query returns. Every criterion is optional; set ones must all match.
public struct DecisionFilter: Sendable, Hashable {
  /// Result order.
  public enum Order: Sendable, Hashable {
    /// Newest first (the default).
    case newestFirst
    /// Oldest first (handy for exports).
    case oldestFirst
  }

  /// Only decisions at or after this wall time (ms since the epoch).
  public var sinceMs: Int64?
  /// Only decisions strictly before this wall time (ms since the epoch).
  public var untilMs: Int64?
  /// Only this route.
  public var route: String?
  /// Only this tenant.
  public var tenant: String?
  /// Only this outcome.
  public var outcome: DecisionEvent.Outcome?
  /// Only decisions whose client-supplied request id (correlation id) is this.
  public var correlationID: String?
  /// Only decisions that served from this provider or attempted it (any attempt, skipped ones included).
  public var provider: String?
  /// Only decisions carrying every one of these tags with exactly this value.
  public var tags: [String: String] = [:]
  /// At most this many decisions; `nil` for all. Default 100.
  public var limit: Int?
  /// Default `.newestFirst`.
  public var order: Order

  /// Creates a filter; with no arguments it matches the 100 newest decisions.
  public init(sinceMs: Int64? = nil, untilMs: Int64? = nil, route: String? = nil, tenant: String? = nil,
              outcome: DecisionEvent.Outcome? = nil, provider: String? = nil, limit: Int? = 100,
              order: Order = .newestFirst, correlationID: String? = nil) {
    self.correlationID = correlationID
    self.sinceMs = sinceMs; self.untilMs = untilMs; self.route = route; self.tenant = tenant
    self.outcome = outcome; self.provider = provider; self.limit = limit; self.order = order
  }
}
