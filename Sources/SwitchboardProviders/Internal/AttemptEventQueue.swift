import Synchronization

/// The wire events of one attempt on their way from the event loop (or the
/// watchdog's timer) to the one task that handles them, in order. It replaced an
/// `AsyncStream`, whose generic storage, unspecialized across the module boundary,
/// looked up type metadata and shifted a deque on every event (about 6% of the
/// daemon's CPU per request in a profile). Producers never block; the consumer
/// awaits `next()`, which ends (nil) after `finish()` once the buffer is drained,
/// and at once when its task is cancelled, as an `AsyncStream` iteration does.
final class AttemptEventQueue: Sendable {
  private struct S {
    var buffer: [AttemptEvent] = []
    var head = 0
    var waiter: UnsafeContinuation<AttemptEvent?, Never>?
    var finished = false
    var cancelled = false

    mutating func pop() -> AttemptEvent? {
      guard head < buffer.count else { return nil }
      let e = buffer[head]
      head += 1
      if head == buffer.count { buffer.removeAll(keepingCapacity: true); head = 0 }
      return e
    }
  }
  private let state = Mutex(S())

  init() {}

  /// Adds an event (dropped after `finish()`).
  func yield(_ event: AttemptEvent) {
    let waiter: UnsafeContinuation<AttemptEvent?, Never>? = state.withLock { s in
      guard !s.finished else { return nil }
      if let w = s.waiter {
        s.waiter = nil
        return w
      }
      s.buffer.append(event)
      return nil
    }
    waiter?.resume(returning: event)
  }

  /// No more events: `next()` returns what is buffered, then nil.
  func finish() {
    let waiter: UnsafeContinuation<AttemptEvent?, Never>? = state.withLock { s in
      s.finished = true
      defer { s.waiter = nil }
      return s.waiter
    }
    waiter?.resume(returning: nil)
  }

  /// The next event; nil once finished and drained, or when the task is cancelled.
  func next() async -> AttemptEvent? {
    if Task.isCancelled { return nil }
    enum Fast { case event(AttemptEvent), end, wait }
    let fast: Fast = state.withLock { s in
      if s.cancelled { return .end }
      if let e = s.pop() { return .event(e) }
      return s.finished ? .end : .wait
    }
    switch fast {
    case .event(let e): return e
    case .end: return nil
    case .wait: break
    }
    return await withTaskCancellationHandler {
      await withUnsafeContinuation { (c: UnsafeContinuation<AttemptEvent?, Never>) in
        enum Now { case event(AttemptEvent), end, parked }
        let now: Now = state.withLock { s in
          if s.cancelled { return .end }
          if let e = s.pop() { return .event(e) }
          if s.finished { return .end }
          s.waiter = c
          return .parked
        }
        switch now {
        case .event(let e): c.resume(returning: e)
        case .end: c.resume(returning: nil)
        case .parked: break
        }
      }
    } onCancel: {
      let waiter: UnsafeContinuation<AttemptEvent?, Never>? = state.withLock { s in
        s.cancelled = true
        defer { s.waiter = nil }
        return s.waiter
      }
      waiter?.resume(returning: nil)
    }
  }
}
