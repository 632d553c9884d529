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
    /// The fleet's store and the clock that converts instants to wall time (nil: local only).
    var sharing: (store: any SharedHealthStore, clock: any RouterClock)?
    /// Wall time of each circuit's last own change published to the fleet.
    var changed: [CircuitKey: Int64] = [:]
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
    mutate(key) { c, _ in c.recordSuccess(probe: probe) }
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
    mutate(key, create: true) { c, s in
      let jitter = s.rng.nextUnit()
      c.recordFailure(failureClass, retryAfter: retryAfter, now: now, probe: probe, policy: s.policy, jitter: jitter)
    }
  }

  /// Opens the circuit now (a strategy said `block`).
  public func trip(_ key: CircuitKey, now: Instant) {
    mutate(key, create: true) { c, s in
      let jitter = s.rng.nextUnit()
      c.trip(now: now, policy: s.policy, jitter: jitter)
    }
  }

  /// Releases a probe slot without a verdict (the probe was cancelled).
  public func releaseProbe(_ key: CircuitKey) {
    mutate(key) { c, _ in c.releaseProbe() }
  }

  /// Runs `body` on the breaker of `key` (created when `create`) and, when the board
  /// shares its circuits, hands the resulting state change to the fleet's store
  /// (outside the lock; the store only queues it).
  private func mutate(_ key: CircuitKey, create: Bool = false, _ body: (inout CircuitBreaker, inout State) -> Void) {
    let out = state.withLock { s -> (any SharedHealthStore, [SharedCircuitChange])? in
      guard create || s.circuits[key] != nil else { return nil }
      let before = s.circuits[key] ?? CircuitBreaker()
      var c = before
      body(&c, &s)
      s.circuits[key] = c
      guard let sharing = s.sharing, c != before else { return nil }
      let changes = Self.changes(before: before, after: c, clock: sharing.clock)
      if let last = changes.last { s.changed[key] = Self.at(last) }
      return changes.isEmpty ? nil : (sharing.store, changes)
    }
    if let (store, changes) = out { for ch in changes { store.publish(key, ch) } }
  }

  private static func at(_ c: SharedCircuitChange) -> Int64 {
    switch c {
    case .opened(_, _, _, _, let at), .closed(let at), .probeReleased(let at), .notBefore(_, let at): return at
    }
  }

  /// What the fleet must hear of a breaker going from `before` to `after`.
  static func changes(before: CircuitBreaker, after: CircuitBreaker, clock: any RouterClock) -> [SharedCircuitChange] {
    let wallNow = clock.wallMillis(), now = clock.now()
    func wall(_ i: Instant) -> Int64 { wallNow + i.duration(since: now).nanoseconds / 1_000_000 }
    let nb = after.notBefore.map(wall)
    if after.openings > before.openings, case .open(let until, let cd) = after.state {
      return [.opened(untilWallMs: wall(until), cooldownMs: cd.nanoseconds / 1_000_000, openings: after.openings,
                      notBeforeWallMs: nb, atWallMs: wallNow)]
    }
    var out: [SharedCircuitChange] = []
    if let nb, after.notBefore != before.notBefore { out.append(.notBefore(wallMs: nb, atWallMs: wallNow)) }
    switch (before.state, after.state) {
    case (.halfOpen, .closed): out.append(.closed(atWallMs: wallNow))
    case (.halfOpen(true, _), .halfOpen(false, _)): out.append(.probeReleased(atWallMs: wallNow))
    default: break
    }
    return out
  }

  /// Shares this board's circuits through `store` (a fleet): from now on state
  /// changes are published and half-open probes need the fleet's lease
  /// (``confirmProbe(_:now:)``). `clock` converts the router's instants to wall time.
  public func share(through store: any SharedHealthStore, clock: any RouterClock) {
    state.withLock { $0.sharing = (store, clock) }
  }

  /// The circuits whose half-open probe this board has in flight (the shared
  /// store renews their fleet leases while they last).
  public func probesInFlight() -> [CircuitKey] {
    state.withLock { s in s.circuits.compactMap { key, c in if case .halfOpen(true, _) = c.state { return key } else { return nil } } }
  }

  /// Whether the board shares its circuits with a fleet.
  public var isShared: Bool { state.withLock { $0.sharing != nil } }

  /// Asks the fleet for the probe lease after ``admit(_:now:)`` answered `.probe`.
  /// Without a store, or when the store has no answer, the local probe stands;
  /// refused, the local breaker stays open until the fleet's window (or the other
  /// sidecar's lease) ends and the slot is given back.
  public func confirmProbe(_ key: CircuitKey, now: Instant) async -> Admission {
    guard let sharing = state.withLock({ $0.sharing }) else { return .probe }
    let wall = sharing.clock.wallMillis() + now.duration(since: sharing.clock.now()).nanoseconds / 1_000_000
    switch await sharing.store.acquireProbe(key, wallMillis: wall) {
    case .granted, .local:
      return .probe
    case .refused(let untilWallMs):
      let t = sharing.clock.now()
      let until = t.advanced(by: .milliseconds(untilWallMs - sharing.clock.wallMillis()))
      state.withLock { $0.circuits[key]?.refuseProbe(until: until) }
      return .rejected(remaining: until > t ? until.duration(since: t) : .zero)
    }
  }

  /// Takes the fleet's circuits (a refresh of the shared store) into the local
  /// copy that every decision reads. An opening, a Retry-After and another
  /// sidecar's probe lease block here too; a close newer than this board's own
  /// last change closes here. A probe this board has in flight is left to its verdict.
  public func adopt(_ fleet: [CircuitKey: SharedCircuit], now: Instant, wallMillis: Int64) {
    func instant(_ wall: Int64) -> Instant { now.advanced(by: .milliseconds(wall - wallMillis)) }
    state.withLock { s in
      for (key, f) in fleet {
        let newer = f.updatedWallMs >= (s.changed[key] ?? .min)
        var c = s.circuits[key] ?? CircuitBreaker()
        if let nb = f.notBeforeWallMs, nb > wallMillis { c.adoptNotBefore(instant(nb)) }
        if f.isOpen {
          let end = max(f.openUntilWallMs, f.probeHeldElsewhereUntilWallMs ?? .min)
          var locallyClosed = false
          if case .closed = c.state { locallyClosed = true }
          // Older news than this board's own close, and no longer blocking: ours stands.
          if newer || !locallyClosed || end > wallMillis {
            c.adoptOpen(until: instant(end), cooldown: .milliseconds(f.cooldownMs), openings: f.openings, replace: newer)
          }
        } else if newer {
          c.adoptClosed()
        }
        if s.circuits[key] != nil || c != CircuitBreaker() { s.circuits[key] = c }
      }
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
