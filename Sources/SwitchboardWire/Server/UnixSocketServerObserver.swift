/// What the server reports to the daemon's metrics.
public protocol UnixSocketServerObserver: Sendable {
  /// A frame or connection was refused; `reason` is a short fixed code
  /// (`bad_flags`, `oversized`, `undecodable`, `inbound_budget`, `read_timeout`,
  /// `write_timeout`, `idle_timeout`, `max_connections`, `permission_denied`).
  func frameRejected(reason: String)
}
