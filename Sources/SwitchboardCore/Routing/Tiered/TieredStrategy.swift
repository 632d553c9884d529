/// The tier strategy's ranking inside the chosen tier: config order.
public struct TieredStrategy: RoutingStrategy {
  public var name: String { "tiered" }
  /// Creates the strategy.
  public init() {}
  public func rank(_ c: [PlannedCandidate], context: StrategyContext) -> [PlannedCandidate] { c }
}
