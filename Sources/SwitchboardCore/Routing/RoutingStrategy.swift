import Synchronization

/// A candidate that passed every hard cap, with what the planner learned of it.
public struct PlannedCandidate: Sendable, Hashable {
  public var spec: CandidateSpec
  public var info: ModelInfo
  /// Worst-case cost of this request on it (nil when a price is unknown).
  public var worstCaseCost: Double?
  /// The same worst case in micro-USD: what an attempt on it reserves.
  public var worstCase: MicroUSD?
  /// The strategy's score, when it computes one.
  public var score: Double?
  /// Shorthand for `spec.ref`.
  public var ref: CandidateRef { spec.ref }
  /// Creates a planned candidate.
  public init(spec: CandidateSpec, info: ModelInfo, worstCaseCost: Double?, score: Double? = nil, worstCase: MicroUSD? = nil) {
    self.spec = spec; self.info = info; self.worstCaseCost = worstCaseCost; self.score = score
    self.worstCase = worstCase ?? worstCaseCost.map { MicroUSD(usd: $0) }
  }
}

/// What a strategy knows when it ranks.
public struct StrategyContext: Sendable {
  public var routeName: String
  public var request: ChatRequest
  public var estimatedInputTokens: Int
  public var stats: CandidateStatsBoard
  /// Creates a context.
  public init(routeName: String, request: ChatRequest, estimatedInputTokens: Int, stats: CandidateStatsBoard) {
    self.routeName = routeName; self.request = request; self.estimatedInputTokens = estimatedInputTokens; self.stats = stats
  }
}

/// A strategy's verdict on a failed candidate.
public enum FailureDirective: String, Sendable {
  /// Open the candidate's circuit now, then go on to the next candidate.
  case block
  /// Go on to the next candidate; the circuit breaker decides as usual.
  case `continue`
}

/// How a route orders its eligible candidates. Conform to add a custom strategy
/// (a daemon registers it by name, see `StrategyRegistry` in SwitchboardDaemon):
/// the instance is made (init) when the config is loaded, `rank` selects,
/// `onSuccess`/`onFailure` report outcomes (`block` opens that candidate's
/// circuit like any failure), and `cleanup` is called once when a reload replaces
/// it or the daemon stops (calls already in flight may still finish on it).
public protocol RoutingStrategy: Sendable {
  /// Recorded in the decision event.
  var name: String { get }
  /// Orders `candidates` (all eligible), first to try first; may set `score`.
  func rank(_ candidates: [PlannedCandidate], context: StrategyContext) -> [PlannedCandidate]
  /// Called after a candidate served a request.
  func onSuccess(_ candidate: CandidateRef, latency: Duration)
  /// Called after a candidate failed; decides block or continue.
  func onFailure(_ candidate: CandidateRef, failure: ProviderFailure) -> FailureDirective
  /// Called once when the strategy is retired (reload or shutdown).
  func cleanup()
}

extension RoutingStrategy {
  public func onSuccess(_ candidate: CandidateRef, latency: Duration) {}
  public func onFailure(_ candidate: CandidateRef, failure: ProviderFailure) -> FailureDirective { .continue }
  public func cleanup() {}
}

/// The built-in strategies.
public enum BuiltinStrategy {
  /// Makes the strategy for a route (stateful ones keep their state per route).
  public static func make(_ kind: StrategyKind, seed: UInt64, weights: ScoreWeights,
                          exploration: Double = 0) -> any RoutingStrategy {
    switch kind {
    case .priority: return PriorityStrategy()
    case .roundRobin: return RoundRobinStrategy()
    case .weighted: return WeightedStrategy(seed: seed)
    case .latency: return LatencyStrategy(exploration: exploration, seed: seed)
    case .cost: return CostStrategy()
    case .leastBusy: return LeastBusyStrategy()
    case .score: return ScoreStrategy(weights: weights)
    case .tiered: return TieredStrategy()
    }
  }
}

/// Config order.
public struct PriorityStrategy: RoutingStrategy {
  public var name: String { "priority" }
  public init() {}
  public func rank(_ c: [PlannedCandidate], context: StrategyContext) -> [PlannedCandidate] { c }
}

/// Rotates the starting candidate on every request; the rest follow in order.
public final class RoundRobinStrategy: RoutingStrategy {
  private let counter = Mutex<UInt64>(0)
  public var name: String { "round_robin" }
  public init() {}
  public func rank(_ c: [PlannedCandidate], context: StrategyContext) -> [PlannedCandidate] {
    guard !c.isEmpty else { return c }
    let n = counter.withLock { v -> UInt64 in defer { v &+= 1 }; return v }
    let start = Int(n % UInt64(c.count))
    return Array(c[start...] + c[..<start])
  }
}

/// Picks the order by weighted sampling without replacement, from a seeded RNG.
public final class WeightedStrategy: RoutingStrategy {
  private let rng: Mutex<SplitMix64>
  public var name: String { "weighted" }
  public init(seed: UInt64) { rng = Mutex(SplitMix64(seed: seed)) }
  public func rank(_ c: [PlannedCandidate], context: StrategyContext) -> [PlannedCandidate] {
    var pool = c
    var out: [PlannedCandidate] = []
    rng.withLock { r in
      while !pool.isEmpty {
        let total = pool.reduce(0) { $0 + max(0, $1.spec.weight) }
        var pick = 0
        if total > 0 {
          var x = r.nextUnit() * total
          for (i, p) in pool.enumerated() {
            x -= max(0, p.spec.weight)
            if x < 0 { pick = i; break }
            pick = i
          }
        }
        var chosen = pool.remove(at: pick)
        chosen.score = total > 0 ? max(0, chosen.spec.weight) / total : nil
        out.append(chosen)
      }
    }
    return out
  }
}

/// Fastest observed first (EMA over the latency window, p95 as tie-break);
/// candidates without a recent sample are explored first. With ε-exploration, a
/// fraction `exploration` of requests put a uniformly chosen other candidate first,
/// so the figures of the slower ones keep being refreshed.
public final class LatencyStrategy: RoutingStrategy {
  /// ε: the fraction of requests that explore.
  public let exploration: Double
  private let rng: Mutex<SplitMix64>
  public var name: String { "latency" }
  /// Creates the strategy; `seed` drives the exploration choices.
  public init(exploration: Double = 0, seed: UInt64 = 0) {
    self.exploration = min(max(exploration, 0), 1)
    rng = Mutex(SplitMix64(seed: seed ^ 0x1A7E_4C7))
  }
  public func rank(_ c: [PlannedCandidate], context: StrategyContext) -> [PlannedCandidate] {
    let obs = c.map { context.stats.observation($0.ref) }
    var order = c.indices.sorted { a, b in
      let oa = obs[a], ob = obs[b]
      switch (oa.latencyEMA, ob.latencyEMA) {
      case (nil, nil): return a < b
      case (nil, _): return true  // explore the untried
      case (_, nil): return false
      case (let x?, let y?):
        if x != y { return x < y }
        return (oa.latencyP95 ?? x) < (ob.latencyP95 ?? y)
      }
    }
    if exploration > 0, order.count > 1 {
      let pick: Int? = rng.withLock { r in
        guard r.nextUnit() < exploration else { return nil }
        return 1 + Int(r.next() % UInt64(order.count - 1))
      }
      if let pick { order.insert(order.remove(at: pick), at: 0) }
    }
    return order.map { i in
      var p = c[i]
      p.score = obs[i].latencyEMA.map { $0.milliseconds }
      return p
    }
  }
}

/// Cheapest worst-case first; unknown prices last, config order among equals.
public struct CostStrategy: RoutingStrategy {
  public var name: String { "cost" }
  public init() {}
  public func rank(_ c: [PlannedCandidate], context: StrategyContext) -> [PlannedCandidate] {
    c.enumerated().sorted { a, b in
      switch (a.element.worstCaseCost, b.element.worstCaseCost) {
      case (let x?, let y?): return x != y ? x < y : a.offset < b.offset
      case (.some, nil): return true
      case (nil, .some): return false
      case (nil, nil): return a.offset < b.offset
      }
    }.map { var p = $0.element; p.score = p.worstCaseCost; return p }
  }
}

/// Fewest attempts in flight first.
public struct LeastBusyStrategy: RoutingStrategy {
  public var name: String { "least_busy" }
  public init() {}
  public func rank(_ c: [PlannedCandidate], context: StrategyContext) -> [PlannedCandidate] {
    let busy = c.map { context.stats.observation($0.ref).inFlight }
    return c.indices.sorted { busy[$0] != busy[$1] ? busy[$0] < busy[$1] : $0 < $1 }
      .map { var p = c[$0]; p.score = Double(busy[$0]); return p }
  }
}

/// Weighted sum of normalised cost, latency and reliability (higher is better).
public struct ScoreStrategy: RoutingStrategy {
  public var weights: ScoreWeights
  public var name: String { "score" }
  public init(weights: ScoreWeights) { self.weights = weights }

  /// Scores in [0, 1] of each candidate, same order.
  public func scores(_ c: [PlannedCandidate], context: StrategyContext) -> [Double] {
    let obs = c.map { context.stats.observation($0.ref) }
    func normalised(_ values: [Double?]) -> [Double] {
      let known = values.compactMap { $0 }
      guard let lo = known.min(), let hi = known.max(), hi > lo else { return values.map { $0 == nil ? 0.5 : 1 } }
      return values.map { v in v.map { 1 - ($0 - lo) / (hi - lo) } ?? 0.5 }
    }
    let cost = normalised(c.map(\.worstCaseCost))
    let lat = normalised(obs.map { $0.latencyEMA?.milliseconds })
    let total = max(1e-9, weights.cost + weights.latency + weights.reliability)
    return c.indices.map { i in
      (weights.cost * cost[i] + weights.latency * lat[i] + weights.reliability * obs[i].reliability) / total
    }
  }

  public func rank(_ c: [PlannedCandidate], context: StrategyContext) -> [PlannedCandidate] {
    let s = scores(c, context: context)
    return c.indices.sorted { s[$0] != s[$1] ? s[$0] > s[$1] : $0 < $1 }
      .map { var p = c[$0]; p.score = (s[$0] * 1000).rounded() / 1000; return p }
  }
}
