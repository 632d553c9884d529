/// The attempt decisions of a request as a pure state machine: given what the
/// last attempt did and the state of the run, what comes next. No I/O, no clock,
/// no randomness of its own (the jitter sample and the retry-budget verdict are
/// inputs), so every rule is tested with tables; `RequestExecutor` is the async
/// shell that runs attempts, reserves and settles budget, and sleeps.
public struct AttemptStateMachine: Sendable {
  /// What to do after a failed attempt.
  public enum Decision: Sendable, Hashable {
    /// The same candidate and key again, after waiting `after` (back-off, Retry-After).
    case retrySame(after: Duration)
    /// The same candidate with the next key of its pool.
    case nextKey
    /// The next candidate of the plan.
    case nextCandidate
    /// Stop: the request ends with this error.
    case terminal(RoutingError)
  }

  /// How a stream the client saw part of goes on, before the next attempt.
  public enum Resume: Sendable, Hashable {
    /// Nothing to resume: a fresh attempt.
    case fresh
    /// Continue with assistant prefill of what the client holds.
    case prefill(String)
    /// Tell the client to discard what it holds (`StreamRestart`), then a whole answer.
    case restart
    /// End the request (the client cannot discard and the candidate cannot continue).
    case terminal(RoutingError)
  }

  /// The run's state as far as the decision after a failure needs it.
  public struct RunState: Sendable, Hashable {
    /// Same-candidate retries already made on this candidate.
    public var sameCandidateRetries: Int
    /// Index of the key just used in the candidate's pool, and the pool's size.
    public var keyIndex: Int
    public var keyCount: Int
    /// Now, and the request's overall deadline.
    public var now: Instant
    public var deadline: Instant
    /// Whether the client saw part of this attempt's answer.
    public var delivered: Bool
    /// Whether the provider's retry budget permits a retry now.
    public var retryPermitted: Bool
    /// A uniform sample in [0, 1) for the back-off jitter.
    public var jitter: Double
    /// Creates a state.
    public init(sameCandidateRetries: Int = 0, keyIndex: Int = 0, keyCount: Int = 1, now: Instant, deadline: Instant,
                delivered: Bool = false, retryPermitted: Bool = true, jitter: Double = 0.5) {
      self.sameCandidateRetries = sameCandidateRetries; self.keyIndex = keyIndex; self.keyCount = keyCount
      self.now = now; self.deadline = deadline; self.delivered = delivered
      self.retryPermitted = retryPermitted; self.jitter = jitter
    }
  }

  public var retry: RetryPolicy
  public var onStreamFailure: StreamFailurePolicy
  public var contentPolicyFallback: Bool

  /// Creates the machine of a route.
  public init(retry: RetryPolicy, onStreamFailure: StreamFailurePolicy, contentPolicyFallback: Bool) {
    self.retry = retry; self.onStreamFailure = onStreamFailure; self.contentPolicyFallback = contentPolicyFallback
  }

  /// Creates the machine of `route`.
  public init(route: RoutePolicy) {
    self.init(retry: route.retry, onStreamFailure: route.onStreamFailure, contentPolicyFallback: route.contentPolicyFallback)
  }

  /// The decision after `failure`.
  public func afterFailure(_ failure: ProviderFailure, _ run: RunState) -> Decision {
    if run.delivered, onStreamFailure == .error {
      return .terminal(RoutingError(.unavailable, failure.reason, "stream failed after the answer began: \(failure.message)",
                                    retryable: true))
    }
    switch failure.failureClass {
    case .semantic:
      switch failure.reason {
      case .contentPolicy:
        if contentPolicyFallback { return .nextCandidate }
        return .terminal(RoutingError(.upstreamRejected, .contentPolicy,
                                      failure.message.isEmpty ? "the provider refused the content" : failure.message))
      case .invalidRequest:
        return .terminal(RoutingError(.upstreamRejected, .invalidRequest,
                                      failure.message.isEmpty ? "the provider rejected the request" : failure.message))
      default:
        return .nextCandidate  // context too long (the shell raises the window floor), prefill rejected, bad response
      }
    case .hard:
      // A bad or exhausted key: the next key of the pool, same candidate.
      if [.invalidCredentials, .quotaExhausted].contains(failure.reason), run.keyIndex + 1 < run.keyCount { return .nextKey }
      return .nextCandidate
    case .transient:
      guard isCheap(failure), !failure.silent, !run.delivered, run.sameCandidateRetries < retry.sameCandidateRetries,
            run.retryPermitted else { return .nextCandidate }
      let backoff = Self.backoff(retry: run.sameCandidateRetries + 1, policy: retry, jitter: run.jitter)
      let wait = max(backoff, failure.retryAfter ?? .zero)
      // Every in-place wait is capped: a longer one fails over to a candidate that can answer now.
      if wait > retry.retryAfterMax { return .nextCandidate }
      if run.now.advanced(by: wait) >= run.deadline { return .nextCandidate }
      return .retrySame(after: wait)
    }
  }

  /// Whether a same-candidate retry of `failure` is worth it: the provider answered
  /// quickly with a transient error (nothing was spent waiting).
  public func isCheap(_ failure: ProviderFailure) -> Bool {
    switch failure.reason {
    case .connectionReset: return !failure.afterHeaders
    case .provider5xx: return true
    case .rateLimited: return failure.retryAfter.map { $0 <= retry.retryAfterMax } ?? false
    default: return false  // timeouts (silent), stalls, cuts: move on
    }
  }

  /// The back-off before same-candidate retry `n` (1-based): "equal jitter", a
  /// uniform value in [d/2, d] for d = min(base * multiplier^(n-1), max).
  public static func backoff(retry n: Int, policy: RetryPolicy, jitter: Double) -> Duration {
    guard policy.backoffBase > .zero else { return .zero }
    var d = Double(policy.backoffBase.nanoseconds)
    for _ in 1..<max(1, n) { d *= max(1, policy.backoffMultiplier) }
    d = min(d, Double(max(policy.backoffMax, policy.backoffBase).nanoseconds))
    let j = min(max(jitter, 0), 1)
    return .nanoseconds(Int64(d / 2 + d / 2 * j))
  }

  /// How the next attempt begins when the client saw part of a failed stream
  /// (`pending`), on a candidate that `canPrefill` (supports prefill and there is
  /// text to continue), for a client that may (`restartAllowed`) or may not
  /// discard what it holds.
  public func resume(pending: ReasonCode?, delivered: String, canPrefill: Bool, restartAllowed: Bool,
                     candidate: CandidateRef) -> Resume {
    guard let pending else { return .fresh }
    if (onStreamFailure == .continue || !restartAllowed), canPrefill, !delivered.isEmpty { return .prefill(delivered) }
    if !restartAllowed {
      // The client cannot discard what it holds: end cleanly rather than splice.
      return .terminal(RoutingError(.unavailable, pending,
                                    "stream failed after the answer began and cannot be continued on \(candidate)", retryable: true))
    }
    return .restart
  }
}
