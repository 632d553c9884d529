/// The connection pool of one upstream host as a pure state machine: idle
/// connections (reused last-in first-out, so a burst's extra connections age out),
/// the number of connections open or being opened, and the requests waiting
/// because that number reached the limit. Every transition returns what the
/// caller must do; no I/O happens here, so it is tested with tables.
///
/// `Connection` is compared by identity (`===`), `Waiter` by its `id`.
struct LeanHTTPPoolState<Connection: AnyObject, Waiter> {
  /// What to do with a request that asked for a connection.
  enum AcquireAction {
    /// Run it on this idle connection.
    case use(Connection)
    /// Open a new connection for it (already counted).
    case connect
    /// It waits in the queue for a connection to come free.
    case wait
    /// The pool is shut down: fail it.
    case fail
  }

  /// What to do after a connection came free or went away.
  enum ReleaseAction {
    /// Run this waiter on the connection.
    case handOver(Connection, Waiter)
    /// The connection is now idle.
    case idle
    /// Close the connection (the pool is shut down).
    case close(Connection)
    /// Open a new connection for this waiter (already counted).
    case connect(Waiter)
    /// Nothing to do.
    case none
  }

  /// The most connections open or being opened at once.
  let limit: Int
  /// Idle connections with the instant they became idle, oldest first.
  private(set) var idle: [(connection: Connection, since: UInt64)] = []
  /// Connections open or being opened (idle ones included).
  private(set) var open = 0
  /// Requests waiting for a connection, first come first served.
  private(set) var waiters: [(id: UInt64, waiter: Waiter)] = []
  private var waitersHead = 0
  private(set) var isShutDown = false

  init(limit: Int) {
    self.limit = max(1, limit)
  }

  /// Number of requests waiting.
  var waiting: Int { waiters.count - waitersHead }

  /// A request wants a connection. `isUsable` says whether an idle connection is
  /// still open (a closed one is dropped here; its close is counted by `closed`).
  /// `prefers` picks, among the idle ones, the most recent it accepts (the caller
  /// prefers a connection on its own event loop, which answers without a thread
  /// hop); otherwise the most recently idle one is used.
  mutating func acquire(id: UInt64, _ waiter: Waiter, isUsable: (Connection) -> Bool,
                        prefers: (Connection) -> Bool = { _ in false }) -> AcquireAction {
    if isShutDown { return .fail }
    if let i = idle.lastIndex(where: { prefers($0.connection) }) {
      let preferred = idle.remove(at: i).connection
      if isUsable(preferred) { return .use(preferred) }
    }
    while let last = idle.popLast() {
      if isUsable(last.connection) { return .use(last.connection) }
    }
    if open < limit {
      open += 1
      return .connect
    }
    waiters.append((id, waiter))
    return .wait
  }

  /// A waiting request gave up (cancelled). Returns whether it was still waiting.
  mutating func removeWaiter(id: UInt64) -> Bool {
    guard let i = waiters[waitersHead...].firstIndex(where: { $0.id == id }) else { return false }
    waiters.remove(at: i)
    compactWaiters()
    return true
  }

  /// A connection finished a response and may be reused.
  mutating func release(_ connection: Connection, now: UInt64) -> ReleaseAction {
    if isShutDown { return .close(connection) }
    if let next = popWaiter() { return .handOver(connection, next) }
    idle.append((connection, now))
    return .idle
  }

  /// A connection closed (it was open, idle or busy).
  mutating func closed(_ connection: Connection) -> ReleaseAction {
    idle.removeAll { $0.connection === connection }
    open -= 1
    return replaceForWaiter()
  }

  /// Opening a connection failed.
  mutating func connectFailed() -> ReleaseAction {
    open -= 1
    return replaceForWaiter()
  }

  /// Takes the idle connections that became idle at or before `before` (to close them).
  mutating func expire(before: UInt64) -> [Connection] {
    var expired: [Connection] = []
    idle.removeAll { entry in
      guard entry.since <= before else { return false }
      expired.append(entry.connection)
      return true
    }
    return expired
  }

  /// Shuts the pool down: returns the idle connections to close and the waiters to fail.
  mutating func shutDown() -> (idle: [Connection], waiters: [Waiter]) {
    isShutDown = true
    let idleConnections = idle.map(\.connection)
    idle.removeAll()
    let failed = waiters[waitersHead...].map(\.waiter)
    waiters.removeAll()
    waitersHead = 0
    return (idleConnections, failed)
  }

  private mutating func replaceForWaiter() -> ReleaseAction {
    guard !isShutDown, open < limit, let next = popWaiter() else { return .none }
    open += 1
    return .connect(next)
  }

  private mutating func popWaiter() -> Waiter? {
    guard waitersHead < waiters.count else { return nil }
    let next = waiters[waitersHead].waiter
    waitersHead += 1
    compactWaiters()
    return next
  }

  private mutating func compactWaiters() {
    if waitersHead == waiters.count {
      waiters.removeAll(keepingCapacity: true)
      waitersHead = 0
    } else if waitersHead > 64, waitersHead * 2 > waiters.count {
      waiters.removeFirst(waitersHead)
      waitersHead = 0
    }
  }
}
