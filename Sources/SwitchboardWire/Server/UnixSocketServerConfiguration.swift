/// Settings of the Unix socket server.
public struct UnixSocketServerConfiguration: Sendable, Hashable {
  /// Socket path. Default: `/run/switchboard/switchboard.sock`.
  public var path: String = "/run/switchboard/switchboard.sock"
  /// File mode of the socket. Default: 0o660.
  public var mode: UInt32 = 0o660
  /// Group to own the socket; nil keeps the daemon's. Default: nil.
  public var group: UInt32?
  /// Who may connect. Default: only the daemon's uid.
  public var access = SocketAccessPolicy()
  /// Largest frame payload. Default: 4 MiB.
  public var maxFrameBytes: Int = FrameFormat.defaultMaxFrameBytes
  /// Calls in flight per connection before new ones get OVERLOADED. Default: 256.
  public var maxInFlightPerConnection = 256
  /// Calls in flight daemon-wide before new ones get OVERLOADED. Default: 4096.
  public var maxInFlight = 4096
  /// How long in-flight calls may finish after shutdown begins. Default: 10 s.
  public var drainGrace: Duration = .seconds(10)
  /// Creates the default configuration.
  public init() {}
}
