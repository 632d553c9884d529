/// The hedge decisions, pure: whether a hedge starts when the delay passes
/// (``AttemptStateMachine/hedgeDecision(_:)``), and the race of attempts in flight
/// (``AttemptStateMachine/HedgeRace``): who wins, who is cancelled, which outcome
/// goes back to the attempt loop. `RequestExecutor` runs the attempts in a task
/// group and feeds the race what they do.
extension AttemptStateMachine {
  /// Why no hedge started when the delay passed (a reason code for the decision event).
  public enum HedgeSkip: String, Sendable, Hashable, CaseIterable, Codable {
    /// The request already made `max_extra` hedges.
    case limit = "hedge_limit"
    /// An attempt in flight delivered its first token: nothing to hedge.
    case firstTokenSeen = "first_token_seen"
    /// The request's `max_attempts` is used up.
    case attemptsExhausted = "attempts_exhausted"
    /// The overall deadline has passed.
    case deadline = "deadline_exceeded"
    /// The retry budget does not permit another attempt.
    case retryBudget = "retry_budget_exhausted"
    /// No further candidate is eligible (none left, or every circuit is not closed).
    case noCandidate = "no_eligible_candidate"
    /// The attempt continues a stream (prefill): a hedge could not continue it.
    case resuming = "stream_resuming"
    /// The budgets cannot hold the hedge's worst case besides the running attempt's.
    case budget = "budget_violation"
  }

  /// What the hedge decision needs to know when the delay passes.
  public struct HedgeState: Sendable, Hashable {
    /// Hedges the request already started, and the route's `max_extra`.
    public var hedgesStarted: Int
    public var maxExtra: Int
    /// Attempts made so far (hedges included), and the route's `max_attempts`.
    public var attempts: Int
    public var maxAttempts: Int
    /// Now and the overall deadline.
    public var now: Instant
    public var deadline: Instant
    /// Whether an attempt in flight already delivered a first token (a unary call: its answer).
    public var firstTokenSeen: Bool
    /// Whether the running attempt continues a stream with prefill.
    public var resuming: Bool
    /// Whether the retry budget (of the request's provider) permits another attempt.
    public var retryPermitted: Bool
    /// Whether an eligible next candidate exists whose circuit is closed and whose provider's retry budget permits.
    public var candidateAvailable: Bool
    /// Creates a state.
    public init(hedgesStarted: Int = 0, maxExtra: Int = 1, attempts: Int = 1, maxAttempts: Int = 4, now: Instant,
                deadline: Instant, firstTokenSeen: Bool = false, resuming: Bool = false, retryPermitted: Bool = true,
                candidateAvailable: Bool = true) {
      self.hedgesStarted = hedgesStarted; self.maxExtra = maxExtra; self.attempts = attempts; self.maxAttempts = maxAttempts
      self.now = now; self.deadline = deadline; self.firstTokenSeen = firstTokenSeen; self.resuming = resuming
      self.retryPermitted = retryPermitted; self.candidateAvailable = candidateAvailable
    }
  }

  /// What to do when the hedge delay passes.
  public enum HedgeDecision: Sendable, Hashable {
    /// Start the next eligible candidate in parallel (after reserving its worst case).
    case hedge
    /// Start nothing; the running attempt continues.
    case skip(HedgeSkip)
  }

  /// The decision when the hedge delay passes. In order: a first token already
  /// came, the per-request limit, a stream being continued, the attempt limit,
  /// the deadline, the retry budget, an eligible candidate. (The budget check is
  /// the shell's reservation, after a `.hedge`.)
  public func hedgeDecision(_ s: HedgeState) -> HedgeDecision {
    if s.firstTokenSeen { return .skip(.firstTokenSeen) }
    if s.hedgesStarted >= s.maxExtra { return .skip(.limit) }
    if s.resuming { return .skip(.resuming) }
    if s.attempts >= s.maxAttempts { return .skip(.attemptsExhausted) }
    if s.now >= s.deadline { return .skip(.deadline) }
    if !s.retryPermitted { return .skip(.retryBudget) }
    if !s.candidateAvailable { return .skip(.noCandidate) }
    return .hedge
  }

  /// The decision after the attempt that ends a race failed: a hedge's failure
  /// moves to the next candidate (the loop is not positioned on the hedge's
  /// candidate, so no same-candidate retry or next key there); the primary's is
  /// ``afterFailure(_:_:)``.
  public func afterRaceFailure(_ failure: ProviderFailure, _ run: RunState, wasHedge: Bool) -> Decision {
    let d = afterFailure(failure, run)
    guard wasHedge else { return d }
    switch d {
    case .retrySame, .nextKey: return .nextCandidate
    case .nextCandidate, .terminal: return d
    }
  }

  /// The race of the attempts of one request in flight at once: the primary
  /// (slot 0) and its hedges. Pure: the shell reports what each attempt does and
  /// carries out the returned verdicts.
  public struct HedgeRace: Sendable, Hashable {
    /// Where a slot stands.
    public enum Slot: Sendable, Hashable {
      /// In flight, no first token yet.
      case running
      /// Delivered the first token: its deltas go to the client.
      case won
      /// Cancelled because another slot won (or the race was decided).
      case cancelling
      /// Ended.
      case ended
    }
    /// How an attempt ended.
    public enum Ending: Sendable, Hashable { case success, failure, cancelled }
    /// What the shell does with an ended attempt.
    public enum Verdict: Sendable, Hashable {
      /// This attempt ends the race: hand its outcome to the attempt loop, after
      /// cancelling `cancel` (and the hedge timer).
      case decisive(cancel: [Int])
      /// A loser (cancelled by the race, or done after another won): settled for
      /// what it consumed, not a provider failure.
      case loser
      /// Failed while another attempt is in flight: record the failure, the other continues.
      case failedOthersContinue
    }
    /// What a delta of a slot may do.
    public enum Claim: Sendable, Hashable {
      /// The slot owns the client's stream; `cancel` lists the slots to cancel now (first delta only).
      case deliver(cancel: [Int])
      /// Another slot owns it: drop the delta and stop this attempt.
      case reject
    }

    /// Every slot, in start order (0 is the primary).
    public private(set) var slots: [Slot] = []
    /// The slot whose first token came first.
    public private(set) var winner: Int?
    /// The slot whose outcome ended the race.
    public private(set) var decisive: Int?

    /// An empty race.
    public init() {}

    /// Adds a slot in flight; returns its index.
    public mutating func start() -> Int { slots.append(.running); return slots.count - 1 }

    /// Slots still in flight and not being cancelled.
    public var live: [Int] { slots.indices.filter { slots[$0] == .running || slots[$0] == .won } }

    /// Whether the race is decided (a first token came, or an outcome ended it).
    public var isDecided: Bool { winner != nil || decisive != nil }

    /// Slot `i` has a delta for the client.
    public mutating func claim(_ i: Int) -> Claim {
      guard slots.indices.contains(i) else { return .reject }
      if winner == i { return .deliver(cancel: []) }
      guard winner == nil, decisive == nil, slots[i] == .running else { return .reject }
      winner = i
      slots[i] = .won
      return .deliver(cancel: cancelOthers(except: i))
    }

    /// Slot `i` ended.
    public mutating func ended(_ i: Int, _ how: Ending) -> Verdict {
      guard slots.indices.contains(i) else { return .loser }
      let was = slots[i]
      slots[i] = .ended
      if was == .cancelling || was == .ended { return .loser }
      if decisive != nil { return .loser }
      switch how {
      case .success:
        if let w = winner, w != i { return .loser }
        winner = i
        decisive = i
        return .decisive(cancel: cancelOthers(except: i))
      case .failure:
        if winner == i || live.isEmpty {
          decisive = i
          return .decisive(cancel: cancelOthers(except: i))
        }
        return .failedOthersContinue
      case .cancelled:
        // Cancelled from outside (the client went away): the last one out carries it to the loop.
        if live.isEmpty { decisive = i; return .decisive(cancel: []) }
        return .loser
      }
    }

    private mutating func cancelOthers(except i: Int) -> [Int] {
      var out: [Int] = []
      for j in slots.indices where j != i && (slots[j] == .running || slots[j] == .won) {
        slots[j] = .cancelling
        out.append(j)
      }
      return out
    }
  }
}
