import NIOCore

/// Runs `operation`, cancelling it when the client's connection closes first
/// (checked every 200 ms: no per-request callback piles up on a keep-alive
/// connection). Returns the operation's result either way.
func cancellingOnClose<T: Sendable>(_ channel: any Channel, _ operation: @escaping @Sendable () async -> T) async -> T {
  await withTaskGroup(of: T?.self) { group in
    group.addTask { await operation() }
    group.addTask {
      while !Task.isCancelled && channel.isActive {
        try? await Task.sleep(for: .milliseconds(200))
      }
      return nil
    }
    var result: T?
    while let next = await group.next() {
      if let value = next {
        result = value
        group.cancelAll()
      } else if result == nil {
        group.cancelAll()  // closed: the operation sees cancellation and returns
      }
    }
    return result!
  }
}
