import Synchronization

/// The shared side of one hedge race: the pure ``AttemptStateMachine/HedgeRace``
/// behind a lock, and the cancel signals of its attempts and hedge timers. The
/// delta callback of each attempt claims the client's stream through it, so
/// exactly one attempt's deltas ever reach the client.
final class HedgeGate: Sendable {
  private struct S {
    var race = AttemptStateMachine.HedgeRace()
    var signals: [CancelSignal] = []
    var timers: [CancelSignal] = []
  }
  private let state = Mutex(S())
  private let clock: any RouterClock

  init(clock: any RouterClock) { self.clock = clock }

  /// Adds an attempt to the race: its slot and its cancel signal.
  func start() -> (slot: Int, signal: CancelSignal) {
    let signal = CancelSignal(clock: clock)
    let slot = state.withLock { s in s.signals.append(signal); return s.race.start() }
    return (slot, signal)
  }

  /// A cancel signal for a new hedge timer (already cancelled when the race is decided).
  func newTimer() -> CancelSignal {
    let t = CancelSignal(clock: clock)
    let decided = state.withLock { s in s.timers.append(t); return s.race.isDecided }
    if decided { t.cancel() }
    return t
  }

  /// Whether the race is decided (a first token came or an outcome ended it).
  var isDecided: Bool { state.withLock { $0.race.isDecided } }

  /// Whether slot `i` is being cancelled by the race.
  func isCancelled(_ i: Int) -> Bool {
    state.withLock { s in s.race.slots.indices.contains(i) && s.race.slots[i] == .cancelling }
  }

  /// Slot `i` has a delta for the client: true if it owns the stream (the first
  /// claim wins and cancels the other attempts and the timers).
  func claim(_ i: Int) -> Bool {
    let (ok, cancel): (Bool, [CancelSignal]) = state.withLock { s in
      let first = s.race.winner == nil
      switch s.race.claim(i) {
      case .reject: return (false, [])
      case .deliver(let slots): return (true, first ? slots.map { s.signals[$0] } + s.timers : [])
      }
    }
    for c in cancel { c.cancel() }
    return ok
  }

  /// Slot `i` ended; cancels what the verdict says (and the timers once decided).
  func ended(_ i: Int, _ how: AttemptStateMachine.HedgeRace.Ending) -> AttemptStateMachine.HedgeRace.Verdict {
    let (verdict, cancel): (AttemptStateMachine.HedgeRace.Verdict, [CancelSignal]) = state.withLock { s in
      let v = s.race.ended(i, how)
      if case .decisive(let slots) = v { return (v, slots.map { s.signals[$0] } + s.timers) }
      return (v, [])
    }
    for c in cancel { c.cancel() }
    return verdict
  }
}
