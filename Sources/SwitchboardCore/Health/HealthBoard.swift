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

/// A circuit breaker per (provider, model, key).
///
/// Consecutive transient failures (`failure_threshold`) or one hard failure open
/// a circuit; its cooldown is `base * 2^(openings-1)`, capped, with jitter, and
/// never shorter than a Retry-After. After the cooldown exactly one probe is let
/// through; its success closes the circuit, its failure re-opens it with the next
/// cooldown. Semantic failures never count.
public final class HealthBoard: Sendable {
  enum State: Sendable, Equatable {
    case closed(failures: Int)
    case open(until: Instant, cooldown: Duration)
    case halfOpen(probeInFlight: Bool, cooldown: Duration)
  }
  struct Circuit: Sendable {
    var state: State = .closed(failures: 0)
    var openings = 0
  }
  private let circuits = Mutex<[CircuitKey: Circuit]>([:])
  private let policy: Mutex<CircuitPolicy>

  /// Creates a board.
  public init(policy: CircuitPolicy = .init()) { self.policy = Mutex(policy) }

  /// Replaces the policy (config reload); circuits keep their state.
  public func update(policy: CircuitPolicy) { self.policy.withLock { $0 = policy } }

  /// Asks to send one request through `key`. `.probe` reserves the single probe slot.
  public func admit(_ key: CircuitKey, now: Instant) -> Admission {
    circuits.withLock { all in
      guard var c = all[key] else { return .allowed }
      switch c.state {
      case .closed: return .allowed
      case .open(let until, let cooldown):
        if now < until { return .rejected(remaining: until.duration(since: now)) }
        c.state = .halfOpen(probeInFlight: true, cooldown: cooldown)
        all[key] = c
        return .probe
      case .halfOpen(let inFlight, let cooldown):
        if inFlight { return .rejected(remaining: .zero) }
        c.state = .halfOpen(probeInFlight: true, cooldown: cooldown)
        all[key] = c
        return .probe
      }
    }
  }

  /// Whether `admit` would refuse right now (without taking the probe slot).
  public func isBlocked(_ key: CircuitKey, now: Instant) -> Bool {
    circuits.withLock { all in
      guard let c = all[key] else { return false }
      switch c.state {
      case .closed: return false
      case .open(let until, _): return now < until
      case .halfOpen(let inFlight, _): return inFlight
      }
    }
  }

  /// Records a success: the circuit closes.
  public func recordSuccess(_ key: CircuitKey) {
    circuits.withLock { all in
      guard all[key] != nil else { return }
      all[key] = Circuit()
    }
  }

  /// Records a failure of `failureClass`; semantic failures only release a probe slot.
  ///
  /// `probe` says whether the failed attempt was this circuit's half-open probe.
  /// A failure of an attempt admitted earlier, while the circuit was still closed,
  /// that lands while it is open or probing is stale: it does not re-open the
  /// circuit or grow the cooldown (only a Retry-After can extend the open window),
  /// so a burst of in-flight failures counts as one opening, not one each.
  public func recordFailure(_ key: CircuitKey, class failureClass: FailureClass, retryAfter: Duration?, now: Instant,
                            probe: Bool = true) {
    let policy = self.policy.withLock { $0 }
    circuits.withLock { all in
      var c = all[key] ?? Circuit()
      if failureClass == .semantic {
        // The request was the problem, not the provider: a probe that hit it proves
        // nothing either way, so free the slot for the next probe.
        if case .halfOpen(_, let cd) = c.state { c.state = .halfOpen(probeInFlight: false, cooldown: cd) }
        all[key] = c
        return
      }
      switch c.state {
      case .closed(let failures):
        let n = failures + 1
        if failureClass == .hard || n >= policy.failureThreshold {
          open(&c, key: key, policy: policy, retryAfter: retryAfter, now: now)
        } else {
          c.state = .closed(failures: n)
        }
      case .open(let until, let cooldown):
        // Stale: admitted before the circuit opened. A Retry-After still floors the wait.
        if let retryAfter, now.advanced(by: retryAfter) > until {
          c.state = .open(until: now.advanced(by: retryAfter), cooldown: cooldown)
        }
      case .halfOpen:
        if probe {
          open(&c, key: key, policy: policy, retryAfter: retryAfter, now: now)
        }
      }
      all[key] = c
    }
  }

  /// Opens the circuit now (a strategy said `block`).
  public func trip(_ key: CircuitKey, now: Instant) {
    let policy = self.policy.withLock { $0 }
    circuits.withLock { all in
      var c = all[key] ?? Circuit()
      open(&c, key: key, policy: policy, retryAfter: nil, now: now)
      all[key] = c
    }
  }

  /// Releases a probe slot without a verdict (the probe was cancelled).
  public func releaseProbe(_ key: CircuitKey) {
    circuits.withLock { all in
      guard var c = all[key], case .halfOpen(true, let cd) = c.state else { return }
      c.state = .halfOpen(probeInFlight: false, cooldown: cd)
      all[key] = c
    }
  }

  /// Every circuit that is not plainly closed with zero failures.
  public func snapshot(now: Instant) -> [CircuitSnapshot] {
    circuits.withLock { all in
      all.map { key, c in
        switch c.state {
        case .closed(let f):
          return CircuitSnapshot(key: key, state: "closed", consecutiveFailures: f, cooldownRemaining: .zero, cooldown: .zero, openings: c.openings)
        case .open(let until, let cd):
          let rem = until > now ? until.duration(since: now) : .zero
          return CircuitSnapshot(key: key, state: "open", consecutiveFailures: 0, cooldownRemaining: rem, cooldown: cd, openings: c.openings)
        case .halfOpen(_, let cd):
          return CircuitSnapshot(key: key, state: "half_open", consecutiveFailures: 0, cooldownRemaining: .zero, cooldown: cd, openings: c.openings)
        }
      }.sorted { $0.key.description < $1.key.description }
    }
  }

  private func open(_ c: inout Circuit, key: CircuitKey, policy: CircuitPolicy, retryAfter: Duration?, now: Instant) {
    c.openings += 1
    let exponent = min(c.openings - 1, 30)
    let baseNs = Double(policy.baseCooldown.nanoseconds) * Double(1 << exponent)
    let capped = min(baseNs, Double(policy.maxCooldown.nanoseconds))
    // Deterministic jitter: a hash of the key and the opening count, so runs repeat.
    var rng = SplitMix64(seed: UInt64(bitPattern: Int64(key.description.hashValueStable)) &+ UInt64(c.openings))
    let j = policy.jitter > 0 ? (rng.nextUnit() * 2 - 1) * policy.jitter : 0
    var cooldown = Duration.nanoseconds(Int64(min(capped * (1 + j), Double(policy.maxCooldown.nanoseconds))))
    if let retryAfter, retryAfter > cooldown { cooldown = retryAfter }
    c.state = .open(until: now.advanced(by: cooldown), cooldown: cooldown)
  }
}
