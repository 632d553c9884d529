import NIOCore

/// Runs `operation`, cancelling it when the client goes away first (its side of
/// the connection closed or the connection dropped; polled every 100 ms, so no
/// per-request callback piles up on a keep-alive connection). Returns the
/// operation's result either way.
func cancellingOnClose<T: Sendable>(_ channel: any Channel, _ operation: @escaping @Sendable () async -> T) async -> T {
  let gone = await ClientGoneHandler.state(of: channel)
  return await withTaskGroup(of: T?.self) { group in
    group.addTask { await operation() }
    group.addTask {
      while !Task.isCancelled && channel.isActive && gone?.gone.load(ordering: .relaxed) != true {
        try? await Task.sleep(for: .milliseconds(100))
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
