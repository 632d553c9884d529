import SwitchboardCore

/// What a custom strategy's factory gets when a route naming it is loaded.
public struct StrategySetup: Sendable {
  /// The route's name.
  public var route: String
  /// The route's candidates, in config order.
  public var candidates: [CandidateRef]
  /// The route's `seed`.
  public var seed: UInt64
}

/// Named custom routing strategies a daemon binary offers to its config
/// (`strategy: custom:NAME`). A user builds their own daemon: depend on the
/// `SwitchboardDaemon` library product, register strategies, and call
/// `SwitchboardDaemonMain.run(configPath:socketOverride:logFormat:strategies:)`
/// (see the `example-strategy-daemon` target).
///
/// Each (re)load makes a fresh instance per route through the factory (init);
/// the router calls `cleanup()` on the instances a reload replaces and on
/// shutdown. A route naming an unregistered strategy is a config error (a reload
/// with one is rejected and the running config kept).
public struct StrategyRegistry: Sendable {
  /// Makes the strategy of one route; a thrown error is reported as a config error of that route.
  public typealias Factory = @Sendable (StrategySetup) throws -> any RoutingStrategy
  private var factories: [String: Factory] = [:]

  /// An empty registry.
  public init() {}

  /// Registers `factory` under `name` (letters, digits, `_`, `-`, `.`); a later registration replaces it.
  public mutating func register(_ name: String, _ factory: @escaping Factory) {
    factories[name] = factory
  }

  /// The registered names, sorted.
  public var names: [String] { factories.keys.sorted() }

  /// Makes the strategy `name` for `setup`; nil when no such strategy is registered.
  func make(_ name: String, setup: StrategySetup) throws -> (any RoutingStrategy)? {
    guard let f = factories[name] else { return nil }
    return try f(setup)
  }
}
