import Synchronization

/// The one continuation of a ``withDeadline(_:_:_:)`` call: whichever of the
/// operation and the timer comes first resumes it, the other finds it taken.
private final class DeadlineGate<T: Sendable>: Sendable {
  private struct S { var continuation: CheckedContinuation<T, any Error>?; var work: Task<Void, Never>?; var timedOut = false }
  private let state = Mutex(S())
  func set(_ c: CheckedContinuation<T, any Error>) { state.withLock { $0.continuation = c } }
  /// Remembers the operation's task (cancelled at once when the timer already fired).
  func setWork(_ t: Task<Void, Never>) {
    let late = state.withLock { s -> Bool in s.work = t; return s.timedOut }
    if late { t.cancel() }
  }
  /// Resumes with the operation's result unless the timer came first; true when this call did it.
  func finish(_ result: Result<T, any Error>) -> Bool {
    guard let c = state.withLock({ s -> CheckedContinuation<T, any Error>? in let c = s.continuation; s.continuation = nil; return c }) else {
      return false
    }
    c.resume(with: result)
    return true
  }
  /// Resumes with a timeout unless the operation came first, and cancels the operation.
  func expire(_ error: FleetStoreError) {
    let (c, work) = state.withLock { s -> (CheckedContinuation<T, any Error>?, Task<Void, Never>?) in
      let c = s.continuation
      s.continuation = nil
      if c != nil { s.timedOut = true }
      return (c, c == nil ? nil : s.work)
    }
    guard let c else { return }
    c.resume(throwing: error)
    work?.cancel()
  }
}

/// Runs `operation` with a hard deadline: returns its result, or throws
/// ``FleetStoreError`` `.timeout` once `timeout` passes — whatever the database
/// driver does. The operation runs in its own task, so neither the caller's
/// cancellation (a disconnecting client) can interrupt a settle half-way, nor a
/// driver that ignores cancellation can hold the caller past the deadline.
///
/// On a timeout the operation is cancelled: a call still waiting for a pooled
/// connection is withdrawn (the pool honours cancellation), so it cannot run
/// later when the database is back. One the server already received may still
/// commit; a reservation made so is not renewed by this sidecar and expires with
/// its lease.
func withDeadline<T: Sendable>(_ timeout: Duration, _ what: String,
                               _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
  let gate = DeadlineGate<T>()
  return try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
    gate.set(c)
    let timer = Task {
      do { try await Task.sleep(for: timeout) } catch { return }
      gate.expire(FleetStoreError(.timeout, what))
    }
    gate.setWork(Task {
      let result: Result<T, any Error>
      do { result = .success(try await operation()) } catch { result = .failure(error) }
      if gate.finish(result) { timer.cancel() }
    })
  }
}
