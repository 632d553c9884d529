import Synchronization
import SwitchboardCore

/// A worked example of a custom routing strategy: cheapest worst case first, but a
/// candidate whose recent success rate fell below `minReliability` goes last; a
/// 429 (rate limited) blocks the candidate, which opens its circuit like any
/// failure, so the next requests go elsewhere until the cooldown passes.
///
/// Lifecycle: the daemon makes one instance per route on every config (re)load
/// (the registry's factory is the "init"), calls `rank` to select,
/// `onSuccess`/`onFailure` after each attempt, and `cleanup` once when a reload
/// replaces the instance or the daemon stops.
final class CheapestReliableStrategy: RoutingStrategy {
  let minReliability: Double
  private let counts = Mutex<(successes: Int, failures: Int, blocks: Int)>((0, 0, 0))
  var name: String { "cheapest_reliable" }

  init(minReliability: Double = 0.5) { self.minReliability = minReliability }

  func rank(_ candidates: [PlannedCandidate], context: StrategyContext) -> [PlannedCandidate] {
    let reliable = candidates.map { context.stats.observation($0.ref).reliability >= minReliability }
    return candidates.indices.sorted { a, b in
      if reliable[a] != reliable[b] { return reliable[a] }
      switch (candidates[a].worstCaseCost, candidates[b].worstCaseCost) {
      case (let x?, let y?) where x != y: return x < y
      case (.some, nil): return true
      case (nil, .some): return false
      default: return a < b
      }
    }.map { i in
      var p = candidates[i]
      p.score = p.worstCaseCost
      return p
    }
  }

  func onSuccess(_ candidate: CandidateRef, latency: Duration) {
    counts.withLock { $0.successes += 1 }
  }

  func onFailure(_ candidate: CandidateRef, failure: ProviderFailure) -> FailureDirective {
    counts.withLock { $0.failures += 1 }
    if failure.reason == .rateLimited {
      counts.withLock { $0.blocks += 1 }
      return .block
    }
    return .continue
  }

  func cleanup() {
    let c = counts.withLock { $0 }
    print("cheapest_reliable: cleanup after \(c.successes) successes, \(c.failures) failures, \(c.blocks) blocks")
  }
}
