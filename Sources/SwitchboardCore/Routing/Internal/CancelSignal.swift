import Synchronization

/// Cancels one child task of a task group on its own (the pattern of grpc-swift-2's
/// `TaskGroup+CancellableTask`): `run` races the work against a waiter on this
/// signal inside a small group of its own; `cancel()` wakes the waiter, which
/// cancels the work. A pending cancel counts as parallel work on the clock
/// (``RouterClock/parallelWorkChanged(by:)``) until the work has ended, so a
/// virtual-time harness never moves time between the request and its effect.
final class CancelSignal: Sendable {
  private struct S {
    var requested = false
    var owed = false
    var done = false
    var continuation: AsyncStream<Void>.Continuation?
  }
  private let state: Mutex<S>
  private let stream: AsyncStream<Void>
  private let clock: any RouterClock

  init(clock: any RouterClock) {
    let (stream, continuation) = AsyncStream<Void>.makeStream()
    self.stream = stream
    self.clock = clock
    self.state = Mutex(S(continuation: continuation))
  }

  /// Whether `cancel()` was called.
  var isRequested: Bool { state.withLock { $0.requested } }

  /// Cancels the work (idempotent; nothing once it has ended).
  func cancel() {
    let c: AsyncStream<Void>.Continuation? = state.withLock { s in
      guard !s.requested else { return nil }
      s.requested = true
      guard !s.done, let c = s.continuation else { return nil }
      s.owed = true
      clock.parallelWorkChanged(by: 1)
      return c
    }
    c?.yield()
  }

  /// Runs `work` until it ends or `cancel()` cancels it (it then ends as cancelled work does).
  func run<T: Sendable>(_ work: @escaping @Sendable () async -> T) async -> T {
    let stream = self.stream
    let result: T? = await withTaskGroup(of: T?.self, returning: T?.self) { group in
      group.addTask { await work() }
      group.addTask {
        for await _ in stream { return nil }
        return nil
      }
      var out: T?
      while let r = await group.next() {
        if let r { out = r }
        group.cancelAll()  // the work ended: stop the waiter; the waiter woke: cancel the work
      }
      return out
    }
    state.withLock { s in
      if s.owed { s.owed = false; clock.parallelWorkChanged(by: -1) }
      s.done = true
      s.continuation?.finish()
      s.continuation = nil
    }
    return result!
  }
}
