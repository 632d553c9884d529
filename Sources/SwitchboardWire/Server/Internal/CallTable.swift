/// The calls open on one connection, as a pure state machine: admission against
/// the per-connection limits, cancel-before-attach, release at the terminal frame
/// (so a `call_id` is reusable as soon as its terminal frame is on its way), drain
/// and grace expiry. No locks, no I/O; the owner keeps it behind a mutex.
///
/// `Handle` is whatever cancels a running call (a task handle in the server, a
/// plain value in tests).
struct CallTable<Handle> {
  /// Which limit a call counts against.
  enum Kind: Hashable, Sendable { case completion, admin }

  /// Limits of one connection.
  struct Limits: Hashable, Sendable {
    /// Completion calls in flight.
    var completions: Int
    /// Admin calls in flight (a separate, small allowance: health and admin are
    /// never shed because completions fill the connection).
    var admin: Int
  }

  /// The answer to a new call.
  enum Admission: Hashable, Sendable {
    /// Admitted; `generation` identifies this call among reuses of its id.
    case admitted(generation: UInt64)
    /// The id names a call that has not sent its terminal frame yet.
    case duplicate
    /// A limit is reached.
    case overloaded(String)
    /// The connection (or the daemon) is draining.
    case draining
  }

  /// What the owner must do after `release`.
  enum ReleaseAction: Hashable, Sendable {
    case none
    /// Draining and nothing open any more: close the connection.
    case close
  }

  struct Entry {
    var kind: Kind
    var generation: UInt64
    var handle: Handle?
    /// A cancel arrived before the handle was attached.
    var cancelRequested = false
  }

  private(set) var open: [UInt64: Entry] = [:]
  private(set) var draining = false
  private(set) var completions = 0
  private(set) var admins = 0
  private var nextGeneration: UInt64 = 1
  var limits: Limits

  init(limits: Limits) { self.limits = limits }

  /// Whether no call is open.
  var isEmpty: Bool { open.isEmpty }

  /// Admits call `id` of `kind`.
  mutating func admit(_ id: UInt64, kind: Kind) -> Admission {
    if draining { return .draining }
    if open[id] != nil { return .duplicate }
    switch kind {
    case .completion:
      if completions >= limits.completions { return .overloaded("this connection has \(limits.completions) calls in flight") }
      completions += 1
    case .admin:
      if admins >= limits.admin { return .overloaded("this connection has \(limits.admin) admin calls in flight") }
      admins += 1
    }
    let g = nextGeneration
    nextGeneration += 1
    open[id] = Entry(kind: kind, generation: g)
    return .admitted(generation: g)
  }

  /// Attaches the running call's handle. Returns true when a cancel for it already
  /// arrived (the owner cancels the handle at once); false also when the call has
  /// already been released.
  mutating func attach(_ id: UInt64, generation: UInt64, handle: Handle) -> Bool {
    guard var e = open[id], e.generation == generation else { return false }
    e.handle = handle
    open[id] = e
    return e.cancelRequested
  }

  /// A client's cancel: returns the handle to cancel (nil when the call is
  /// unknown, finished, or not attached yet; then it is cancelled on attach).
  mutating func cancel(_ id: UInt64) -> Handle? {
    guard var e = open[id] else { return nil }
    if let h = e.handle { return h }
    e.cancelRequested = true
    open[id] = e
    return nil
  }

  /// The call's terminal frame is being written: its id is free from now on.
  /// A stale generation (the id was already released and reused) changes nothing.
  mutating func release(_ id: UInt64, generation: UInt64) -> ReleaseAction {
    guard let e = open[id], e.generation == generation else { return .none }
    open.removeValue(forKey: id)
    switch e.kind {
    case .completion: completions -= 1
    case .admin: admins -= 1
    }
    return draining && open.isEmpty ? .close : .none
  }

  /// Stops admitting. Returns `.close` when nothing is open.
  mutating func beginDrain() -> ReleaseAction {
    draining = true
    return open.isEmpty ? .close : .none
  }

  /// The drain grace expired (or the connection is being torn down): every open
  /// call is removed and returned with its handle (nil when not attached yet),
  /// so the owner can send each a terminal status and cancel it.
  mutating func expireAll() -> [(id: UInt64, generation: UInt64, handle: Handle?)] {
    draining = true
    let out = open.map { (id: $0.key, generation: $0.value.generation, handle: $0.value.handle) }.sorted { $0.id < $1.id }
    open = [:]
    completions = 0
    admins = 0
    return out
  }

  /// Handles of every open call (the connection went away: cancel them all).
  mutating func cancelAll() -> [Handle] {
    var out: [Handle] = []
    for (id, var e) in open {
      if let h = e.handle { out.append(h) } else { e.cancelRequested = true; open[id] = e }
    }
    return out
  }
}

extension CallTable: Sendable where Handle: Sendable {}
extension CallTable.Entry: Sendable where Handle: Sendable {}
