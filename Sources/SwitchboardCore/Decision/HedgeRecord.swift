/// What hedging did for one request (``DecisionEvent/hedge``): the delay it
/// waited, the hedges it started or refused, which attempt won and what the
/// hedging cost beyond the answer.
public struct HedgeRecord: Codable, Hashable, Sendable {
  /// The hedge delay of the (first) race, in milliseconds.
  public var delayMs: Double
  /// Hedges started.
  public var started: Int
  /// Index of the attempt whose answer was served (nil when none was).
  public var winnerAttempt: Int?
  /// Whether the served attempt was a hedge.
  public var winnerIsHedge: Bool
  /// What hedging added (micro-USD): the charges of race losers and of hedges that did not serve the answer.
  public var extraCostMicroUSD: Int64
  /// Reason codes of hedges not started when the delay passed (``AttemptStateMachine/HedgeSkip``), in order.
  public var refused: [String]
  /// Creates a record.
  public init(delayMs: Double = 0, started: Int = 0, winnerAttempt: Int? = nil, winnerIsHedge: Bool = false,
              extraCostMicroUSD: Int64 = 0, refused: [String] = []) {
    self.delayMs = delayMs; self.started = started; self.winnerAttempt = winnerAttempt; self.winnerIsHedge = winnerIsHedge
    self.extraCostMicroUSD = extraCostMicroUSD; self.refused = refused
  }
}
