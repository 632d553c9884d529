/// Settings of the Unix socket server.
///
/// Defaults fit a sidecar with a 256 MiB memory limit: at most `maxConnections`
/// connections, `maxOutboundBytesPerConnection` queued answers each, and
/// `maxInboundBufferBytes` of partial frames between all of them.
public struct UnixSocketServerConfiguration: Sendable, Hashable {
  /// Socket path. Default: `/run/switchboard/switchboard.sock`.
  public var path: String = "/run/switchboard/switchboard.sock"
  /// File mode of the socket. Default: 0o660.
  public var mode: UInt32 = 0o660
  /// Group to own the socket; nil keeps the daemon's. Default: nil.
  public var group: UInt32?
  /// Who may connect. Default: only the daemon's uid.
  public var access = SocketAccessPolicy()
  /// Who may use admin calls that change state or read other callers' decisions
  /// (keys, reload, all decisions). They may connect even when not in `access`.
  /// Default: only the daemon's uid.
  public var admin = SocketAccessPolicy()
  /// Largest frame payload. Default: 4 MiB.
  public var maxFrameBytes: Int = FrameFormat.defaultMaxFrameBytes
  /// Completion calls in flight per connection before new ones get OVERLOADED. Default: 256.
  public var maxInFlightPerConnection = 256
  /// Completion calls in flight daemon-wide before new ones get OVERLOADED. Default: 4096.
  public var maxInFlight = 4096
  /// Admin calls (health included) in flight per connection, on top of the
  /// completion limits, so health and admin are never shed by completion load. Default: 8.
  public var reservedAdminCallsPerConnection = 8
  /// Admin calls in flight daemon-wide, on top of the completion limits. Default: 64.
  public var reservedAdminCalls = 64
  /// Open connections; past it a new one gets `OVERLOADED` and is closed. Default: 64.
  public var maxConnections = 64
  /// Answer bytes queued per connection before the server stops reading from it. Default: 1 MiB.
  public var maxOutboundBytesPerConnection = 1 << 20
  /// Queued answers that make no progress for this long fail their calls and
  /// close the connection (a client that does not read). Default: 10 s.
  public var writeTimeout: Duration = .seconds(10)
  /// A connection with no call and no frame for this long is closed. Default: 5 min.
  public var idleTimeout: Duration = .seconds(300)
  /// A frame whose first byte arrived must complete within this time. Default: 10 s.
  public var frameReadTimeout: Duration = .seconds(10)
  /// Bytes of partial frames all connections may hold together; a frame that
  /// does not fit gets `PROTOCOL_ERROR` and its connection is closed. Default: 64 MiB.
  public var maxInboundBufferBytes = 64 << 20
  /// How long in-flight calls may finish after shutdown begins. Default: 10 s.
  public var drainGrace: Duration = .seconds(10)
  /// Creates the default configuration.
  public init() {}
}
