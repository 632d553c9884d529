/// A running call as the connection's table holds it.
struct CallHandle: Sendable {
  let call: ServerCall
  let task: CancellableTaskHandle
  /// Cancels the call: marks it at once, then cancels its task.
  func cancel() {
    call.markCancelled()
    task.cancel()
  }
}
