import Synchronization

/// The retry budget of every provider (a `RetryBudget` each), shared by all requests.
public final class RetryBudgetBoard: Sendable {
  private struct State {
    var policy: RetryBudget.Policy
    var budgets: [String: RetryBudget] = [:]
  }
  private let state: Mutex<State>

  /// Creates a board where every provider starts with a full bucket.
  public init(policy: RetryBudget.Policy = .init()) { state = Mutex(State(policy: policy)) }

  /// Replaces the policy (config reload); buckets start full again.
  public func update(policy: RetryBudget.Policy) {
    state.withLock { s in
      guard s.policy != policy else { return }
      s.policy = policy
      s.budgets = [:]
    }
  }

  /// Whether `provider` may get a retry now.
  public func isRetryPermitted(_ provider: String) -> Bool {
    state.withLock { s in s.budgets[provider]?.isRetryPermitted ?? RetryBudget(policy: s.policy).isRetryPermitted }
  }

  /// Tokens left for `provider`.
  public func tokens(_ provider: String) -> Double {
    state.withLock { s in (s.budgets[provider] ?? RetryBudget(policy: s.policy)).tokens }
  }

  /// Spends one token of `provider`'s bucket for an attempt that is not a failover:
  /// a hedge counts against the retry budget like a retry (and, like a failure, takes a whole token).
  public func spend(_ provider: String) { record(provider, success: false) }

  /// Records an attempt's outcome: a success refills, a transient failure drains.
  public func record(_ provider: String, success: Bool) {
    state.withLock { s in
      let policy = s.policy
      if success { s.budgets[provider, default: RetryBudget(policy: policy)].recordSuccess() }
      else { s.budgets[provider, default: RetryBudget(policy: policy)].recordFailure() }
    }
  }
}
