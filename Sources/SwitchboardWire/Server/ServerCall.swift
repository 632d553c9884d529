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
  private let cancelRequested = Atomic<Bool>(false)
  /// Frees the call's id and slots when its terminal frame is queued; returns what
  /// to run once that frame is written (the connection stops counting the call
  /// as open only then, so a draining connection never closes under it).
  private let onTerminal: @Sendable () -> @Sendable () -> Void

  init(callID: UInt64, peer: PeerCredentials?, writer: ConnectionWriter, onTerminal: @escaping @Sendable () -> @Sendable () -> Void) {
    self.callID = callID; self.peer = peer; self.writer = writer; self.onTerminal = onTerminal
  }

  /// Whether the terminal frame has been sent.
  public var isFinished: Bool { finished.load(ordering: .acquiring) }

  /// Whether the client cancelled this call (or its connection went away). Set
  /// synchronously when the cancel arrives, before the task's cancellation
  /// propagates, so a handler can answer `CANCELLED` instead of a late result.
  public var isCancelled: Bool { cancelRequested.load(ordering: .acquiring) }

  func markCancelled() { cancelRequested.store(true, ordering: .releasing) }

  /// Sends a non-terminal frame (a chunk or a restart). Suspends while the frame
  /// is queued; throws when the connection is gone, the client did not read
  /// within the write timeout, or the call already ended (e.g. drained).
  public func send(_ body: Switchboard_V1_Frame.OneOf_Body) async throws {
    guard !isFinished else { throw ChannelError.ioOnClosedChannel }
    var f = Switchboard_V1_Frame()
    f.callID = callID
    f.body = body
    try await writer.write(f).get()
  }

  /// Sends the terminal frame; later calls are ignored. Returns whether this call sent it.
  ///
  /// Returns once the frame is queued, without waiting for the client to read it:
  /// the call's task and everything it holds end now, and only the frame's bytes
  /// stay queued (bounded by the connection's outbound limit). Awaiting the write
  /// here let a client that never reads pin one finished task per answered call.
  @discardableResult
  public func finish(_ body: Switchboard_V1_Frame.OneOf_Body) async -> Bool {
    finishNow(body) != nil
  }

  /// Enqueues the terminal frame without waiting for it (the server uses this when
  /// the drain grace expires). The id is released before the frame is queued, so
  /// a client that reuses it after reading the frame is never refused.
  func finishNow(_ body: Switchboard_V1_Frame.OneOf_Body) -> EventLoopFuture<Void>? {
    guard finished.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return nil }
    var f = Switchboard_V1_Frame()
    f.callID = callID
    f.body = body
    let afterWrite = onTerminal()
    let written = writer.write(f)
    written.whenComplete { _ in afterWrite() }
    return written
  }

  /// Ends the call with a status.
  @discardableResult
  public func fail(_ code: Switchboard_V1_Status.Code, reason: String, message: String, retryable: Bool = false,
                   retryAfterMs: UInt32 = 0, requestID: String = "", correlationID: String = "") async -> Bool {
    var s = Switchboard_V1_Status()
    s.code = code; s.reasonCode = reason; s.message = message; s.retryable = retryable
    s.retryAfterMs = retryAfterMs; s.requestID = requestID; s.correlationID = correlationID
    return await finish(.status(s))
  }
}

/// Writes framed protobuf onto one connection; shared by all its calls.
///
/// Writes go to the channel unflushed; the connection's handler flushes once per
/// event-loop tick, counts the queued bytes (reading stops past the per-connection
/// limit) and closes a connection whose queue does not drain within the write
/// timeout, which fails every write still queued.
final class ConnectionWriter: Sendable {
  let channel: any Channel

  init(channel: any Channel) { self.channel = channel }

  /// Queues `frame`; the future completes once it is written to the socket.
  func write(_ frame: Switchboard_V1_Frame) -> EventLoopFuture<Void> {
    do {
      return channel.write(try frame.framed(allocator: channel.allocator))
    } catch {
      return channel.eventLoop.makeFailedFuture(error)
    }
  }

  /// Closes the connection once everything queued so far is written (or failed).
  func closeAfterPendingWrites() {
    let channel = self.channel
    channel.writeAndFlush(channel.allocator.buffer(capacity: 0)).whenComplete { _ in channel.close(promise: nil) }
  }

  /// Ends a refused connection: once the refusal is written, stops reading, shuts
  /// the write side (the peer reads the refusal, then end of stream) and closes
  /// after `grace`. Closing at once raced with the peer's first write: a client
  /// that sent its request just after the close got EPIPE and never read why it was
  /// refused (seen as IO_ERROR instead of PERMISSION_DENIED in the container test).
  func closeRefused(grace: TimeAmount = .seconds(1)) {
    let channel = self.channel
    channel.writeAndFlush(channel.allocator.buffer(capacity: 0)).whenComplete { _ in
      channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in
        channel.close(mode: .output).whenComplete { result in
          guard case .success = result else { channel.close(promise: nil); return }
          channel.eventLoop.scheduleTask(in: grace) { channel.close(promise: nil) }
        }
      }
    }
  }
}
