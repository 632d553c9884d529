/// One circuit breaker as a pure state machine: every input (the time, the
/// policy, a jitter sample) is an argument, so it is tested with tables and the
/// `HealthBoard` is a thin, locked shell over a dictionary of these.
///
/// Rules:
/// - consecutive transient failures (`failure_threshold`) or one hard failure open
///   it; semantic failures never count;
/// - its cooldown is `base * 2^(openings-1)`, capped, times `1 ± jitter` (the
///   jitter sample comes from the caller's per-process random source);
/// - after the cooldown exactly one probe goes through: its success closes the
///   circuit and resets the back-off, its failure re-opens it with the next cooldown;
/// - only that probe (or an attempt on a closed circuit) can close or reset it: a
///   late success of an attempt admitted before the circuit opened is stale;
/// - a Retry-After sets a not-before time even while the circuit is closed (and
///   floors the open window when it opens).
public struct CircuitBreaker: Sendable, Hashable {
  /// The breaker's state.
  public enum State: Sendable, Hashable {
    /// Closed, with the consecutive transient failures so far.
    case closed(failures: Int)
    /// Open until `until`; `cooldown` is the length of this opening.
    case open(until: Instant, cooldown: Duration)
    /// Half-open: one probe may go (or is in flight).
    case halfOpen(probeInFlight: Bool, cooldown: Duration)
  }

  /// The state.
  public private(set) var state: State = .closed(failures: 0)
  /// Openings in a row since it last closed (the back-off exponent).
  public private(set) var openings = 0
  /// No request before this time (a Retry-After), whatever the state.
  public private(set) var notBefore: Instant?

  /// A closed breaker.
  public init() {}

  /// Asks to send one request at `now`; `.probe` takes the single probe slot.
  public mutating func admit(now: Instant) -> Admission {
    if let nb = notBefore, now < nb { return .rejected(remaining: nb.duration(since: now)) }
    switch state {
    case .closed:
      return .allowed
    case .open(let until, let cooldown):
      if now < until { return .rejected(remaining: until.duration(since: now)) }
      state = .halfOpen(probeInFlight: true, cooldown: cooldown)
      return .probe
    case .halfOpen(let inFlight, let cooldown):
      if inFlight { return .rejected(remaining: .zero) }
      state = .halfOpen(probeInFlight: true, cooldown: cooldown)
      return .probe
    }
  }

  /// Whether `admit` would refuse at `now` (without taking the probe slot).
  public func isBlocked(now: Instant) -> Bool {
    if let nb = notBefore, now < nb { return true }
    switch state {
    case .closed: return false
    case .open(let until, _): return now < until
    case .halfOpen(let inFlight, _): return inFlight
    }
  }

  /// A success. `probe`: the attempt was this circuit's half-open probe.
  /// A closed circuit forgets its failures; a probe closes the circuit and resets
  /// the back-off; any other success (stale) changes nothing.
  public mutating func recordSuccess(probe: Bool) {
    switch state {
    case .closed:
      state = .closed(failures: 0)
    case .halfOpen where probe:
      state = .closed(failures: 0)
      openings = 0
    case .open, .halfOpen:
      break  // stale: admitted before the circuit opened
    }
  }

  /// A failure of `failureClass` at `now`. `probe`: the attempt was the half-open
  /// probe; `jitter`: a uniform sample in [0, 1) used if the circuit opens.
  public mutating func recordFailure(_ failureClass: FailureClass, retryAfter: Duration?, now: Instant, probe: Bool,
                                     policy: CircuitPolicy, jitter: Double) {
    if let retryAfter, retryAfter > .zero {
      let until = now.advanced(by: retryAfter)
      if notBefore.map({ until > $0 }) ?? true { notBefore = until }
    }
    if failureClass == .semantic {
      // The request was the problem, not the provider: a probe that hit it proves
      // nothing either way, so free the slot for the next probe.
      if case .halfOpen(_, let cd) = state { state = .halfOpen(probeInFlight: false, cooldown: cd) }
      return
    }
    switch state {
    case .closed(let failures):
      let n = failures + 1
      if failureClass == .hard || n >= policy.failureThreshold {
        open(now: now, retryAfter: retryAfter, policy: policy, jitter: jitter)
      } else {
        state = .closed(failures: n)
      }
    case .open(let until, let cooldown):
      // Stale: admitted before the circuit opened. A Retry-After still floors the wait.
      if let retryAfter, now.advanced(by: retryAfter) > until {
        state = .open(until: now.advanced(by: retryAfter), cooldown: cooldown)
      }
    case .halfOpen:
      if probe { open(now: now, retryAfter: retryAfter, policy: policy, jitter: jitter) }
    }
  }

  /// Opens the circuit now (a strategy said `block`).
  public mutating func trip(now: Instant, policy: CircuitPolicy, jitter: Double) {
    open(now: now, retryAfter: nil, policy: policy, jitter: jitter)
  }

  /// Releases the probe slot without a verdict (the probe was cancelled or never sent).
  public mutating func releaseProbe() {
    if case .halfOpen(true, let cd) = state { state = .halfOpen(probeInFlight: false, cooldown: cd) }
  }

  /// Takes the fleet's opening (a shared circuit another sidecar opened): open until
  /// `until`, `openings` in a row. A probe this breaker has in flight is kept (its
  /// verdict decides). `replace`: the fleet's news is newer than this breaker's own
  /// last change, so its window is taken as it is; otherwise the later end wins.
  public mutating func adoptOpen(until: Instant, cooldown: Duration, openings: Int, replace: Bool) {
    if case .halfOpen(true, _) = state { return }
    if !replace, case .open(let u, let cd) = state, u >= until {
      state = .open(until: u, cooldown: cd)
    } else {
      state = .open(until: until, cooldown: cooldown)
    }
    self.openings = replace ? openings : max(self.openings, openings)
  }

  /// The fleet closed the circuit (another sidecar's probe succeeded): an open or
  /// half-open breaker closes and resets its back-off; a probe in flight here is
  /// kept, and a closed breaker keeps its failure count.
  public mutating func adoptClosed() {
    switch state {
    case .closed, .halfOpen(true, _): return
    case .open, .halfOpen(false, _):
      state = .closed(failures: 0)
      openings = 0
    }
  }

  /// A not-before time from the fleet (a Retry-After another sidecar saw); the later one wins.
  public mutating func adoptNotBefore(_ instant: Instant) {
    if notBefore.map({ instant > $0 }) ?? true { notBefore = instant }
  }

  /// The fleet refused this breaker's probe (still open there, or another sidecar
  /// probes): open until `until`, the probe slot given back.
  public mutating func refuseProbe(until: Instant) {
    switch state {
    case .halfOpen(_, let cd), .open(_, let cd): state = .open(until: until, cooldown: cd)
    case .closed: break
    }
  }

  /// The cooldown of the `opening`-th opening in a row, for a jitter sample in [0, 1).
  public static func cooldown(opening: Int, policy: CircuitPolicy, jitter: Double) -> Duration {
    let exponent = min(max(0, opening - 1), 30)
    let baseNs = Double(policy.baseCooldown.nanoseconds) * Double(1 << exponent)
    let capNs = Double(policy.maxCooldown.nanoseconds)
    let capped = min(baseNs, capNs)
    let j = policy.jitter > 0 ? (min(max(jitter, 0), 1) * 2 - 1) * policy.jitter : 0
    return .nanoseconds(Int64(min(capped * (1 + j), capNs)))
  }

  private mutating func open(now: Instant, retryAfter: Duration?, policy: CircuitPolicy, jitter: Double) {
    openings += 1
    var cooldown = Self.cooldown(opening: openings, policy: policy, jitter: jitter)
    if let retryAfter, retryAfter > cooldown { cooldown = retryAfter }
    state = .open(until: now.advanced(by: cooldown), cooldown: cooldown)
  }
}
