import NIOCore
import NIOPosix
import Synchronization
import SwitchboardWire

/// A terminal error status from the daemon.
public struct SwitchboardStatusError: Error, CustomStringConvertible, Sendable {
  /// The status frame.
  public var status: Switchboard_V1_Status
  /// Creates an error.
  public init(_ status: Switchboard_V1_Status) { self.status = status }
  /// `CODE (reason_code): message [request_id=…]`, as the shell and Python clients print it.
  public var description: String {
    var text = status.code.protoName
    if !status.reasonCode.isEmpty { text += " (\(status.reasonCode))" }
    if !status.message.isEmpty { text += ": \(status.message)" }
    if status.retryAfterMs > 0 { text += " (retry after \(status.retryAfterMs)ms)" }
    if !status.requestID.isEmpty { text += " [request_id=\(status.requestID)]" }
    return text
  }
}

/// The connection closed before a call ended.
public struct SwitchboardConnectionClosed: Error, CustomStringConvertible, Sendable {
  public var description: String { "connection to the daemon closed" }
}

/// A Swift client of the daemon: one connection, many concurrent calls.
public final class SwitchboardClient: Sendable {
  private let channel: any Channel
  private let demux: Demultiplexer
  private let nextID = Atomic<UInt64>(0)

  private init(channel: any Channel, demux: Demultiplexer) { self.channel = channel; self.demux = demux }

  /// Connects to the daemon's socket; a failure is a ``SwitchboardConnectError``.
  public static func connect(socketPath: String, maxFrameBytes: Int = FrameFormat.defaultMaxFrameBytes,
                             group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> SwitchboardClient {
    let demux = Demultiplexer()
    let bootstrap = ClientBootstrap(group: group)
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameBytes: maxFrameBytes)))
          try channel.pipeline.syncOperations.addHandler(DemuxHandler(demux: demux))
        }
      }
    let channel: any Channel
    do {
      channel = try await bootstrap.connect(unixDomainSocketPath: socketPath).get()
    } catch {
      throw SwitchboardConnectError(socketPath: socketPath, underlying: error)
    }
    return SwitchboardClient(channel: channel, demux: demux)
  }

  /// Allocates a call id.
  public func newCallID() -> UInt64 { nextID.wrappingAdd(1, ordering: .relaxed).newValue }

  /// Opens a call: sends `body` and returns the stream of frames for it, ending after the terminal one.
  public func open(_ body: Switchboard_V1_Frame.OneOf_Body, callID: UInt64? = nil) async throws -> (UInt64, AsyncThrowingStream<Switchboard_V1_Frame, any Error>) {
    let id = callID ?? newCallID()
    let (stream, continuation) = AsyncThrowingStream<Switchboard_V1_Frame, any Error>.makeStream()
    demux.register(id, continuation)
    var f = Switchboard_V1_Frame()
    f.callID = id
    f.body = body
    do {
      try await channel.writeAndFlush(try f.framed(allocator: channel.allocator))
    } catch {
      demux.fail(id, error)
      throw error
    }
    return (id, stream)
  }

  /// Sends a unary completion and returns its response; a `Status` is thrown.
  public func complete(_ request: Switchboard_V1_CompletionRequest) async throws -> Switchboard_V1_CompletionResponse {
    let (_, frames) = try await open(.completionRequest(request))
    for try await frame in frames {
      switch frame.body {
      case .completionResponse(let r): return r
      case .status(let s): throw SwitchboardStatusError(s)
      default: continue
      }
    }
    throw SwitchboardConnectionClosed()
  }

  /// Sends a streaming completion; the stream yields chunks, restarts and the final response.
  public func stream(_ request: Switchboard_V1_CompletionRequest) async throws -> (callID: UInt64, frames: AsyncThrowingStream<Switchboard_V1_Frame, any Error>) {
    var r = request
    r.stream = true
    return try await open(.completionRequest(r))
  }

  /// Sends an admin request; a `Status` is thrown.
  public func admin(_ request: Switchboard_V1_AdminRequest) async throws -> Switchboard_V1_AdminResponse {
    let (_, frames) = try await open(.adminRequest(request))
    for try await frame in frames {
      switch frame.body {
      case .adminResponse(let r): return r
      case .status(let s): throw SwitchboardStatusError(s)
      default: continue
      }
    }
    throw SwitchboardConnectionClosed()
  }

  /// Asks the daemon to cancel a call.
  public func cancel(_ callID: UInt64) async throws {
    var f = Switchboard_V1_Frame()
    f.callID = callID
    f.body = .cancel(Switchboard_V1_Cancel())
    try await channel.writeAndFlush(try f.framed(allocator: channel.allocator))
  }

  /// Writes raw bytes (tests of malformed input).
  public func writeRaw(_ bytes: [UInt8]) async throws {
    try await channel.writeAndFlush(channel.allocator.buffer(bytes: bytes))
  }

  /// Frames with call id 0 (connection-level statuses) arrive here.
  public func connectionEvents() -> AsyncThrowingStream<Switchboard_V1_Frame, any Error> {
    let (stream, c) = AsyncThrowingStream<Switchboard_V1_Frame, any Error>.makeStream()
    demux.register(0, c)
    return stream
  }

  /// Whether the connection is open.
  public var isActive: Bool { channel.isActive }

  /// Closes the connection.
  public func close() async {
    try? await channel.close()
  }
}

final class Demultiplexer: Sendable {
  private let calls = Mutex<[UInt64: AsyncThrowingStream<Switchboard_V1_Frame, any Error>.Continuation]>([:])

  func register(_ id: UInt64, _ c: AsyncThrowingStream<Switchboard_V1_Frame, any Error>.Continuation) {
    calls.withLock { $0[id] = c }
  }

  func deliver(_ frame: Switchboard_V1_Frame) {
    let terminal = frame.isTerminal
    let c = calls.withLock { calls -> AsyncThrowingStream<Switchboard_V1_Frame, any Error>.Continuation? in
      if frame.callID == 0 { return calls[0] }
      return terminal ? calls.removeValue(forKey: frame.callID) : calls[frame.callID]
    }
    c?.yield(frame)
    if terminal && frame.callID != 0 { c?.finish() }
    // A connection-level status ends every call.
    if frame.callID == 0, case .status = frame.body { failAll(SwitchboardStatusError(frame.status)) }
  }

  func fail(_ id: UInt64, _ error: any Error) {
    calls.withLock { $0.removeValue(forKey: id) }?.finish(throwing: error)
  }

  func failAll(_ error: any Error) {
    let all = calls.withLock { c -> [UInt64: AsyncThrowingStream<Switchboard_V1_Frame, any Error>.Continuation] in
      let a = c
      c = [:]
      return a
    }
    for (id, c) in all {
      if id == 0 { c.finish() } else { c.finish(throwing: error) }
    }
  }
}

final class DemuxHandler: ChannelInboundHandler, Sendable {
  typealias InboundIn = ByteBuffer
  let demux: Demultiplexer
  init(demux: Demultiplexer) { self.demux = demux }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    let payload = unwrapInboundIn(data)
    guard let frame = try? Switchboard_V1_Frame(payload: payload) else {
      demux.failAll(FrameError(.undecodable, "the daemon sent an undecodable frame"))
      context.close(promise: nil)
      return
    }
    demux.deliver(frame)
  }

  func channelInactive(context: ChannelHandlerContext) {
    demux.failAll(SwitchboardConnectionClosed())
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    demux.failAll(error)
    context.close(promise: nil)
  }
}
