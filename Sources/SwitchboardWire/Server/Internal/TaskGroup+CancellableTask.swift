/// A child task of a discarding group that can be cancelled on its own, without
/// cancelling the group (after grpc-swift 2's `TaskGroup.addCancellableTask`).
struct CancellableTaskHandle: Sendable {
  private let continuation: AsyncStream<Void>.Continuation
  init(continuation: AsyncStream<Void>.Continuation) { self.continuation = continuation }
  /// Cancels the task (idempotent; a no-op once it finished).
  func cancel() { continuation.finish() }
}

extension DiscardingTaskGroup {
  /// Adds `operation` as a child task and returns a handle that cancels just it.
  mutating func addCancellableTask(_ operation: @Sendable @escaping () async -> Void) -> CancellableTaskHandle {
    let signal = AsyncStream.makeStream(of: Void.self)
    addTask {
      await withTaskGroup(of: Void.self) { group in
        group.addTask { await operation() }
        group.addTask { for await _ in signal.stream {} }
        // Whichever ends first (the work, or the cancel signal) ends the other.
        _ = await group.next()
        group.cancelAll()
      }
    }
    return CancellableTaskHandle(continuation: signal.continuation)
  }
}
