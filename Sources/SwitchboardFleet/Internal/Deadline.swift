import Synchronization

/// The one continuation of a ``withDeadline(_:_:_:)`` call: whichever of the
/// operation and the timer comes first resumes it, the other finds it taken.
private final class DeadlineGate<T: Sendable>: Sendable {
  private let slot = Mutex<CheckedContinuation<T, any Error>?>(nil)
  func set(_ c: CheckedContinuation<T, any Error>) { slot.withLock { $0 = c } }
  /// Resumes with `result` unless already resumed; true when this call did it.
  @discardableResult
  func resume(_ result: Result<T, any Error>) -> Bool {
    guard let c = slot.withLock({ s -> CheckedContinuation<T, any Error>? in let c = s; s = nil; return c }) else { return false }
    c.resume(with: result)
    return true
  }
}

/// Runs `operation` with a hard deadline: returns its result, or throws
/// ``FleetStoreError`` `.timeout` once `timeout` passes — whatever the database
/// driver does. The operation runs in its own task, so neither the caller's
/// cancellation (a disconnecting client) can interrupt a settle half-way, nor a
/// driver that ignores cancellation can hold the caller past the deadline.
func withDeadline<T: Sendable>(_ timeout: Duration, _ what: String,
                               _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
  let gate = DeadlineGate<T>()
  return try await withCheckedThrowingContinuation { (c: CheckedContinuation<T, any Error>) in
    gate.set(c)
    let timer = Task {
      try? await Task.sleep(for: timeout)
      gate.resume(.failure(FleetStoreError(.timeout, what)))
    }
    Task {
      let result: Result<T, any Error>
      do { result = .success(try await operation()) } catch { result = .failure(error) }
      if gate.resume(result) { timer.cancel() }
    }
  }
}
