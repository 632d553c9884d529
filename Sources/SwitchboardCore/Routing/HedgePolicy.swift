/// Hedged requests of a route (`hedge: {after_ms: N | p95, max_extra: 1}`): when
/// the running attempt has produced no first token (a unary call: no answer)
/// after `delay`, the next eligible candidate starts in parallel; the first to
/// deliver a first token wins and the other is cancelled and settled. A hedge
/// reserves its own worst case, spends a token of the retry budget and never
/// goes to a circuit that is not closed.
public struct HedgePolicy: Sendable, Hashable {
  /// When a hedge starts.
  public enum Delay: Sendable, Hashable {
    /// A fixed delay after the attempt started.
    case fixed(Duration)
    /// The running candidate's observed first-token p95 (see ``p95Floor``, ``p95Fallback``, ``minSamples``).
    case p95
  }
  /// When a hedge starts (default: `p95`).
  public var delay: Delay = .p95
  /// Hedges per request at most (default 1; the config accepts 1...3).
  public var maxExtra: Int = 1
  /// `p95` never waits less than this (default 50 ms), so a candidate with a
  /// few very fast samples does not hedge every request.
  public var p95Floor: Duration = .milliseconds(50)
  /// `p95` with fewer than ``minSamples`` samples waits this long (default 1 s).
  public var p95Fallback: Duration = .seconds(1)
  /// First-token samples `p95` needs before it trusts the observed figure (default 10).
  public var minSamples: Int = 10

  /// Creates a policy.
  public init(delay: Delay = .p95, maxExtra: Int = 1) { self.delay = delay; self.maxExtra = maxExtra }

  /// The delay for a candidate whose observed first-token p95 is `p95` over `samples` samples.
  public func delay(observedP95 p95: Duration?, samples: Int) -> Duration {
    switch delay {
    case .fixed(let d): return max(.zero, d)
    case .p95:
      guard let p95, samples >= max(1, minSamples) else { return p95Fallback }
      return max(p95Floor, p95)
    }
  }
}
