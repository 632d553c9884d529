/// A child task of a discarding group that can be cancelled on its own, without
/// cancelling the group (after grpc-swift 2's `TaskGroup.addCancellableTask`).
struct CancellableTaskHandle: Sendable {
  private let continuation: AsyncStream<Void>.Continuation
  init(continuation: AsyncStream<Void>.Continuation) { self.continuation = continuation }
  /// Cancels the task (idempotent; a no-op once it finished). Cancelling before
  /// the task is added makes it start cancelled.
  func cancel() { continuation.finish() }

  /// A handle and the signal its task listens to, made before the task exists
  /// (so the handle can be registered first).
  static func make() -> (handle: CancellableTaskHandle, signal: AsyncStream<Void>) {
    let (stream, continuation) = AsyncStream.makeStream(of: Void.self)
    return (CancellableTaskHandle(continuation: continuation), stream)
  }
}

extension DiscardingTaskGroup {
  /// Adds `operation` as a child task and returns a handle that cancels just it.
  mutating func addCancellableTask(_ operation: @Sendable @escaping () async -> Void) -> CancellableTaskHandle {
    let (handle, signal) = CancellableTaskHandle.make()
    addCancellableTask(signal: signal, operation)
    return handle
  }

  /// Adds `operation` as a child task that `signal` ending cancels (see `CancellableTaskHandle.make()`).
  mutating func addCancellableTask(signal: AsyncStream<Void>, _ operation: @Sendable @escaping () async -> Void) {
    addTask {
      await withTaskGroup(of: Void.self) { group in
        group.addTask { await operation() }
        group.addTask { for await _ in signal {} }
        // Whichever ends first (the work, or the cancel signal) ends the other.
        _ = await group.next()
        group.cancelAll()
      }
    }
  }
}
