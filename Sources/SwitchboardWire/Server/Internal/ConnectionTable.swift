/// The daemon's open connections, as a pure state machine: the connection limit,
/// drain, and which connections to close when the access policy changes.
struct ConnectionTable<Connection> {
  /// The answer to a new connection.
  enum Admission: Hashable, Sendable {
    case accepted(id: UInt64)
    /// `max_connections` reached.
    case full(limit: Int)
    /// The daemon is shutting down.
    case draining
  }

  private(set) var connections: [UInt64: Connection] = [:]
  private(set) var draining = false
  private var nextID: UInt64 = 1
  var limit: Int

  init(limit: Int) { self.limit = limit }

  var count: Int { connections.count }
  var isEmpty: Bool { connections.isEmpty }

  /// Admits a new connection.
  mutating func admit(_ connection: Connection) -> Admission {
    if draining { return .draining }
    if connections.count >= limit { return .full(limit: limit) }
    let id = nextID
    nextID += 1
    connections[id] = connection
    return .accepted(id: id)
  }

  /// Forgets a closed connection.
  @discardableResult
  mutating func remove(_ id: UInt64) -> Connection? { connections.removeValue(forKey: id) }

  /// Stops admitting; returns every open connection (to drain).
  mutating func beginDrain() -> [Connection] {
    draining = true
    return connections.sorted { $0.key < $1.key }.map(\.value)
  }

  /// Every open connection.
  var all: [Connection] { connections.sorted { $0.key < $1.key }.map(\.value) }
}

extension ConnectionTable: Sendable where Connection: Sendable {}
