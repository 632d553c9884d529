import Synchronization

/// Identifies one circuit: a provider, a model and a key.
public struct CircuitKey: Hashable, Sendable, CustomStringConvertible {
  public var provider: String
  public var model: String
  /// The key's fingerprint, or "none".
  public var keyFingerprint: String
  /// Creates a key.
  public init(provider: String, model: String, keyFingerprint: String) {
    self.provider = provider; self.model = model; self.keyFingerprint = keyFingerprint
  }
  /// Creates a key for a candidate.
  public init(_ ref: CandidateRef, keyFingerprint: String) {
    self.init(provider: ref.provider, model: ref.model, keyFingerprint: keyFingerprint)
  }
  public var description: String { "\(provider)/\(model)#\(keyFingerprint)" }
}

/// What the health board says about sending a request through a circuit.
public enum Admission: Equatable, Sendable {
  /// Closed: go ahead.
  case allowed
  /// Half-open: this request is the one probe; report its outcome.
  case probe
  /// Open (or half-open with a probe in flight): do not send.
  case rejected(remaining: Duration)

  /// Whether a request may be sent.
  public var isAllowed: Bool { if case .rejected = self { return false } else { return true } }
}

/// A read-only view of one circuit.
public struct CircuitSnapshot: Sendable, Hashable {
  public var key: CircuitKey
  /// closed | open | half_open
  public var state: String
  public var consecutiveFailures: Int
  public var cooldownRemaining: Duration
  public var cooldown: Duration
  /// How many times it has opened in a row.
  public var openings: Int
}

/// The circuit breakers of every (provider, model, key): a locked dictionary of
/// `CircuitBreaker` state machines (the rules are documented there) and the
/// per-process random source of their jitter.
///
/// The jitter source is seeded from the system's random generator unless a seed
/// is given (drills and tests), so sidecars sharing a key do not re-probe in
/// lock-step.
public final class HealthBoard: Sendable {
  private struct State {
    var circuits: [CircuitKey: CircuitBreaker] = [:]
    var rng: SplitMix64
    var policy: CircuitPolicy
  }
  private let state: Mutex<State>

  /// Creates a board; `seed` makes the jitter repeatable (nil: a random seed).
  public init(policy: CircuitPolicy = .init(), seed: UInt64? = nil) {
    var system = SystemRandomNumberGenerator()
    state = Mutex(State(rng: SplitMix64(seed: seed ?? system.next()), policy: policy))
  }

  /// Replaces the policy (config reload); circuits keep their state.
  public func update(policy: CircuitPolicy) { state.withLock { $0.policy = policy } }

  /// Asks to send one request through `key`. `.probe` reserves the single probe slot.
  public func admit(_ key: CircuitKey, now: Instant) -> Admission {
    state.withLock { s in
      guard s.circuits[key] != nil else { return .allowed }
      return s.circuits[key]!.admit(now: now)
    }
  }

  /// Whether `admit` would refuse right now (without taking the probe slot).
  public func isBlocked(_ key: CircuitKey, now: Instant) -> Bool {
    state.withLock { $0.circuits[key]?.isBlocked(now: now) ?? false }
  }

  /// Records a success; `probe` says whether the attempt was this circuit's
  /// half-open probe. Only the probe (or an attempt on a closed circuit) closes or
  /// resets a circuit: a late success of an attempt admitted before it opened is stale.
  public func recordSuccess(_ key: CircuitKey, probe: Bool) {
    state.withLock { s in
      guard s.circuits[key] != nil else { return }
      s.circuits[key]!.recordSuccess(probe: probe)
    }
  }

  /// Records a failure of `failureClass`; semantic failures only release a probe slot.
  ///
  /// `probe` says whether the failed attempt was this circuit's half-open probe.
  /// A failure of an attempt admitted earlier, while the circuit was still closed,
  /// that lands while it is open or probing is stale: it does not re-open the
  /// circuit or grow the cooldown (only a Retry-After can extend the open window),
  /// so a burst of in-flight failures counts as one opening, not one each. A
  /// Retry-After sets a not-before time on the circuit even while it stays closed.
  public func recordFailure(_ key: CircuitKey, class failureClass: FailureClass, retryAfter: Duration?, now: Instant,
                            probe: Bool = true) {
    state.withLock { s in
      let jitter = s.rng.nextUnit()
      s.circuits[key, default: CircuitBreaker()].recordFailure(failureClass, retryAfter: retryAfter, now: now, probe: probe,
                                                               policy: s.policy, jitter: jitter)
    }
  }

  /// Opens the circuit now (a strategy said `block`).
  public func trip(_ key: CircuitKey, now: Instant) {
    state.withLock { s in
      let jitter = s.rng.nextUnit()
      s.circuits[key, default: CircuitBreaker()].trip(now: now, policy: s.policy, jitter: jitter)
    }
  }

  /// Releases a probe slot without a verdict (the probe was cancelled).
  public func releaseProbe(_ key: CircuitKey) {
    state.withLock { s in
      guard s.circuits[key] != nil else { return }
      s.circuits[key]!.releaseProbe()
    }
  }

  /// Every circuit that is not plainly closed with zero failures.
  public func snapshot(now: Instant) -> [CircuitSnapshot] {
    state.withLock { s in
      s.circuits.map { key, c in
        switch c.state {
        case .closed(let f):
          let rem = c.notBefore.map { $0 > now ? $0.duration(since: now) : .zero } ?? .zero
          return CircuitSnapshot(key: key, state: "closed", consecutiveFailures: f, cooldownRemaining: rem, cooldown: .zero, openings: c.openings)
        case .open(let until, let cd):
          let end = max(until, c.notBefore ?? until)
          let rem = end > now ? end.duration(since: now) : .zero
          return CircuitSnapshot(key: key, state: "open", consecutiveFailures: 0, cooldownRemaining: rem, cooldown: cd, openings: c.openings)
        case .halfOpen(_, let cd):
          return CircuitSnapshot(key: key, state: "half_open", consecutiveFailures: 0, cooldownRemaining: .zero, cooldown: cd, openings: c.openings)
        }
      }.sorted { $0.key.description < $1.key.description }
    }
  }
}
