import Synchronization
import NIOCore
import NIOPosix

/// The time limits of one HTTP attempt on the real monotonic clock (NIO
/// deadlines): one scheduled task on an event loop, re-armed only when the
/// earliest limit moves earlier, so pushing the idle limit on every streamed
/// event costs a lock and no timer churn.
final class AttemptWatchdog: Sendable {
  /// The limits an attempt runs under.
  enum Limit: Int, Sendable, CaseIterable {
    case connect, firstToken, idle, deadline
  }

  private struct State {
    /// One slot per limit, in `Limit` order (stored inline: no array allocation per attempt).
    var deadlines = Deadlines()
    var armed: NIODeadline?
    var scheduled: Scheduled<Void>?
    var stopped = false

    func earliest() -> (NIODeadline, Limit)? {
      var best: (NIODeadline, Limit)?
      for limit in Limit.allCases {
        if let d = deadlines[limit.rawValue], best == nil || d < best!.0 { best = (d, limit) }
      }
      return best
    }
  }

  struct Deadlines {
    var connect, firstToken, idle, deadline: NIODeadline?
    subscript(_ i: Int) -> NIODeadline? {
      get {
        switch i { case 0: connect; case 1: firstToken; case 2: idle; default: deadline }
      }
      set {
        switch i { case 0: connect = newValue; case 1: firstToken = newValue; case 2: idle = newValue; default: deadline = newValue }
      }
    }
  }

  private let eventLoop: any EventLoop
  private let onFire: @Sendable (Limit) -> Void
  private let state = Mutex(State())

  /// Creates a watchdog that calls `onFire` (once) when the earliest limit passes;
  /// its timer runs on the event loop it is armed from, else on `eventLoop`.
  init(eventLoop: any EventLoop, onFire: @escaping @Sendable (Limit) -> Void) {
    self.eventLoop = eventLoop
    self.onFire = onFire
  }

  /// Sets (or with nil clears) one limit.
  func set(_ limit: Limit, _ deadline: NIODeadline?) {
    state.withLock { s in
      guard !s.stopped else { return }
      s.deadlines[limit.rawValue] = deadline
      guard let (earliest, _) = s.earliest() else { return }
      if s.armed == nil || earliest < s.armed! { arm(&s, at: earliest) }
    }
  }

  /// Sets the attempt's first limits together, arming one timer for the earlier
  /// (a timer scheduled from outside the event loop wakes it, so one instead of two).
  func start(deadline: NIODeadline, connect: NIODeadline?) {
    state.withLock { s in
      guard !s.stopped else { return }
      s.deadlines[Limit.deadline.rawValue] = deadline
      s.deadlines[Limit.connect.rawValue] = connect
      guard let (earliest, _) = s.earliest() else { return }
      if s.armed == nil || earliest < s.armed! { arm(&s, at: earliest) }
    }
  }

  /// Stops the watchdog; it never fires afterwards.
  func stop() {
    state.withLock { s in
      s.stopped = true
      s.scheduled?.cancel()
      s.scheduled = nil
      s.armed = nil
    }
  }

  private func arm(_ s: inout State, at deadline: NIODeadline) {
    s.scheduled?.cancel()
    s.armed = deadline
    // On an event loop (the lean client arms from its connection's loop), the timer
    // goes on that loop: scheduling from outside a loop wakes it, from inside it does not.
    let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? eventLoop
    s.scheduled = loop.scheduleTask(deadline: deadline) { [self] in self.check() }
  }

  private func check() {
    let fired: Limit? = state.withLock { s in
      guard !s.stopped else { return nil }
      s.armed = nil
      s.scheduled = nil
      guard let (earliest, limit) = s.earliest() else { return nil }
      if earliest <= .now() {
        s.stopped = true
        return limit
      }
      arm(&s, at: earliest)
      return nil
    }
    if let fired { onFire(fired) }
  }
}
