import NIOCore
import Synchronization

/// One call on a connection, as a handler sees it: send non-terminal frames with
/// `send`, end with exactly one `finish`.
public final class ServerCall: Sendable {
  /// The client's call id.
  public let callID: UInt64
  /// The peer's credentials (nil when they could not be read).
  public let peer: PeerCredentials?
  private let writer: ConnectionWriter
  private let finished = Atomic<Bool>(false)

  init(callID: UInt64, peer: PeerCredentials?, writer: ConnectionWriter) {
    self.callID = callID; self.peer = peer; self.writer = writer
  }

  /// Whether the terminal frame has been sent.
  public var isFinished: Bool { finished.load(ordering: .acquiring) }

  /// Sends a non-terminal frame (a chunk or a restart). Throws when the connection is gone.
  public func send(_ body: Switchboard_V1_Frame.OneOf_Body) async throws {
    var f = Switchboard_V1_Frame()
    f.callID = callID
    f.body = body
    try await writer.write(f)
  }

  /// Sends the terminal frame; later calls are ignored. Returns whether this call sent it.
  @discardableResult
  public func finish(_ body: Switchboard_V1_Frame.OneOf_Body) async -> Bool {
    guard finished.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return false }
    var f = Switchboard_V1_Frame()
    f.callID = callID
    f.body = body
    try? await writer.write(f)
    return true
  }

  /// Ends the call with a status.
  @discardableResult
  public func fail(_ code: Switchboard_V1_Status.Code, reason: String, message: String, retryable: Bool = false,
                   retryAfterMs: UInt32 = 0, requestID: String = "") async -> Bool {
    var s = Switchboard_V1_Status()
    s.code = code; s.reasonCode = reason; s.message = message; s.retryable = retryable
    s.retryAfterMs = retryAfterMs; s.requestID = requestID
    return await finish(.status(s))
  }
}

/// Writes framed protobuf onto one connection; shared by all its calls.
///
/// Writes go straight to the channel (not through `NIOAsyncChannelOutboundWriter`):
/// a terminal `CANCELLED` is written by a task that has just been cancelled, and
/// the async writer refuses writes from cancelled tasks. Each call awaits its own
/// write, so a client that stops reading slows only its own calls.
final class ConnectionWriter: Sendable {
  private let channel: any Channel

  init(channel: any Channel) { self.channel = channel }

  func write(_ frame: Switchboard_V1_Frame) async throws {
    try await channel.writeAndFlush(try frame.framed(allocator: channel.allocator)).get()
  }
}
