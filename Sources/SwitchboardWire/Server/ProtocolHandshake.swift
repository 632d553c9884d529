/// Answers a client's `Hello`: the version check of the protocol, in one place.
///
/// A `Hello` whose `protocol_version` is 0 (unset) is taken as version 1. A
/// version outside `supportedVersions` gets a connection-level
/// `Status{FAILED_PRECONDITION, reason_code=unsupported_protocol_version}` on
/// call id 0 and the connection is closed: the two sides cannot understand each
/// other. Pure: no I/O, tested with a table.
public struct ProtocolHandshake: Sendable, Hashable {
  /// The protocol versions this daemon speaks.
  public static let supportedVersions: ClosedRange<UInt32> = FrameFormat.protocolVersion...FrameFormat.protocolVersion
  /// The reason code of a refused `Hello`.
  public static let unsupportedVersionReason = "unsupported_protocol_version"

  /// What the daemon answers.
  public enum Verdict: Sendable, Hashable {
    /// Go on: send this `Welcome`.
    case welcome(Switchboard_V1_Welcome)
    /// Send this status on call id 0, then close the connection.
    case refuse(Switchboard_V1_Status)
  }

  /// The daemon's build version (`Welcome.server_version`).
  public var serverVersion: String
  /// `Welcome.max_frame_bytes`.
  public var maxFrameBytes: Int
  /// `Welcome.max_concurrent_calls_per_connection`.
  public var maxConcurrentCallsPerConnection: Int

  /// Creates the handshake of a server with these limits.
  public init(serverVersion: String = SwitchboardVersion.current, maxFrameBytes: Int, maxConcurrentCallsPerConnection: Int) {
    self.serverVersion = serverVersion
    self.maxFrameBytes = maxFrameBytes
    self.maxConcurrentCallsPerConnection = maxConcurrentCallsPerConnection
  }

  /// The handshake of a socket server with `configuration`.
  public init(configuration: UnixSocketServerConfiguration) {
    self.init(maxFrameBytes: configuration.maxFrameBytes,
              maxConcurrentCallsPerConnection: configuration.maxInFlightPerConnection)
  }

  /// The answer to `hello`.
  public func answer(_ hello: Switchboard_V1_Hello) -> Verdict {
    let asked = hello.protocolVersion == 0 ? 1 : hello.protocolVersion
    guard Self.supportedVersions.contains(asked) else {
      var s = Switchboard_V1_Status()
      s.code = .failedPrecondition
      s.reasonCode = Self.unsupportedVersionReason
      let speaks = Self.supportedVersions.count == 1 ? "version \(Self.supportedVersions.lowerBound)"
        : "versions \(Self.supportedVersions.lowerBound)-\(Self.supportedVersions.upperBound)"
      s.message = "the client speaks protocol version \(asked); this daemon (\(serverVersion)) speaks \(speaks)"
      return .refuse(s)
    }
    var w = Switchboard_V1_Welcome()
    w.protocolVersion = asked
    w.serverVersion = serverVersion
    w.maxFrameBytes = UInt32(clamping: maxFrameBytes)
    w.maxConcurrentCallsPerConnection = UInt32(clamping: maxConcurrentCallsPerConnection)
    return .welcome(w)
  }
}

extension ProtocolHandshake.Verdict {
  /// The frame to send on `callID`.
  public func frame(callID: UInt64) -> Switchboard_V1_Frame {
    var f = Switchboard_V1_Frame()
    f.callID = callID
    switch self {
    case .welcome(let w): f.body = .welcome(w)
    case .refuse(let s): f.body = .status(s)
    }
    return f
  }

  /// Whether the connection closes after the answer.
  public var closesConnection: Bool {
    if case .refuse = self { return true }
    return false
  }
}
