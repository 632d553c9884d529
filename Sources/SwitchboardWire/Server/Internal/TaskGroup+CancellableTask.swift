import Synchronization

/// Cancels one child task of a discarding group on its own, without cancelling the
/// group. grpc-swift 2's `TaskGroup.addCancellableTask` (which this replaced) runs
/// each operation in a group of its own beside a second task waiting on a cancel
/// signal: three tasks and a stream per call. Here the one child task registers
/// itself while it runs, and `cancel()` cancels it through that reference, under a
/// lock the task takes again before it ends, so the reference is never used once
/// the task is gone. Cancelling before the task starts makes it start cancelled.
final class CancellableTaskHandle: Sendable {
  /// The running task (never used outside the lock, and cleared before the task ends).
  private struct Running: @unchecked Sendable {
    let task: UnsafeCurrentTask
  }
  private struct S {
    var running: Running?
    var cancelled = false
  }
  private let state = Mutex(S())

  init() {}

  /// Cancels the task (idempotent; a no-op once it finished).
  func cancel() {
    state.withLock { s in
      guard !s.cancelled else { return }
      s.cancelled = true
      s.running?.task.cancel()
    }
  }

  /// Runs `operation` in the current task as the task this handle cancels.
  fileprivate func run(_ operation: @Sendable () async -> Void) async {
    withUnsafeCurrentTask { task in
      guard let task else { return }
      state.withLock { s in
        if s.cancelled { task.cancel() } else { s.running = Running(task: task) }
      }
    }
    await operation()
    state.withLock { $0.running = nil }
  }
}

extension DiscardingTaskGroup {
  /// Adds `operation` as a child task that `handle` cancels (the handle can be made,
  /// registered and even cancelled before the task exists).
  mutating func addCancellableTask(handle: CancellableTaskHandle, _ operation: @Sendable @escaping () async -> Void) {
    addTask { await handle.run(operation) }
  }
}
