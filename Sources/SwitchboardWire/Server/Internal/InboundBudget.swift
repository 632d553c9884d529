import Synchronization

/// Bytes held in partial frames by every connection of a server: a partial frame
/// reserves its full size when its header arrives, and a reservation that does not
/// fit is refused (the connection gets `PROTOCOL_ERROR` and is closed), so slow or
/// stalled senders cannot hold more than the budget between them.
final class InboundBudget: Sendable {
  private let used = Atomic<Int>(0)
  let limit: Int
  init(limit: Int) { self.limit = limit }
  var inUse: Int { used.load(ordering: .relaxed) }
  func reserve(_ n: Int) -> Bool {
    if n <= 0 { return true }
    let now = used.wrappingAdd(n, ordering: .relaxed).newValue
    if now > limit { used.wrappingSubtract(n, ordering: .relaxed); return false }
    return true
  }
  func release(_ n: Int) { if n > 0 { used.wrappingSubtract(n, ordering: .relaxed) } }
}
