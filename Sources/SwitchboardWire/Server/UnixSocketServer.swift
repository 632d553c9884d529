#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The daemon's Unix-socket front door: accepts connections, checks peer
/// credentials, splits frames, multiplexes calls per connection, sheds load
/// with `OVERLOADED`, and drains on shutdown.
public final class UnixSocketServer: Sendable {
  /// Settings.
  public let configuration: UnixSocketServerConfiguration
  private let handler: any CallHandler
  private let group: any EventLoopGroup
  private let logger: Logger
  private let globalInFlight = Atomic<Int>(0)
  private let state = Mutex(ServerState())

  struct ServerState: Sendable {
    var serverChannel: (any Channel)?
    var draining = false
    var listening = false
    var startFailure: (any Error)?
    var listenWaiters: [CheckedContinuation<Void, any Error>] = []
    var connections: [ObjectIdentifier: ConnectionState] = [:]
  }

  /// Creates a server.
  public init(configuration: UnixSocketServerConfiguration, handler: any CallHandler,
              group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger) {
    self.configuration = configuration; self.handler = handler; self.group = group; self.logger = logger
  }

  /// Calls in flight on every connection.
  public var inFlight: Int { globalInFlight.load(ordering: .relaxed) }

  /// Returns once the socket accepts connections; throws why it could not start.
  public func waitUntilListening() async throws {
    try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
      let ready: Result<Void, any Error>? = state.withLock { s in
        if s.listening { return .success(()) }
        if let e = s.startFailure { return .failure(e) }
        s.listenWaiters.append(c)
        return nil
      }
      if let ready { c.resume(with: ready) }
    }
  }

  private func failStart(_ error: any Error) -> any Error {
    let waiters = state.withLock { s -> [CheckedContinuation<Void, any Error>] in
      s.startFailure = error
      defer { s.listenWaiters = [] }
      return s.listenWaiters
    }
    for w in waiters { w.resume(throwing: error) }
    return error
  }

  /// Serves until `beginShutdown()`, then drains in-flight calls up to the grace
  /// period and removes the socket file.
  public func run() async throws {
    let path = configuration.path
    do { try SocketFile.prepare(path: path) } catch { throw failStart(error) }
    let maxFrame = configuration.maxFrameBytes
    let server: NIOAsyncChannel<(NIOAsyncChannel<ByteBuffer, ByteBuffer>, PeerCredentials?), Never>
    do {
      server = try await ServerBootstrap(group: group)
      .serverChannelOption(.backlog, value: 256)
      .childChannelOption(.allowRemoteHalfClosure, value: true)
      .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false) { channel in
        PeerCredentials.read(from: channel)
          .map { Optional($0) }
          .recover { _ in nil }
          .flatMapThrowing { peer in
            try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(FrameDecoder(maxFrameBytes: maxFrame)))
            let async = try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            return (async, peer)
          }
      }
    } catch { throw failStart(error) }
    defer { SocketFile.remove(path: path) }
    do {
      try SocketFile.applyPermissions(path: path, mode: configuration.mode, group: configuration.group)
    } catch {
      try? await server.channel.close()
      throw failStart(error)
    }
    let wasDraining = state.withLock { s -> Bool in
      s.serverChannel = server.channel
      s.listening = true
      let w = s.listenWaiters
      s.listenWaiters = []
      for c in w { c.resume() }
      return s.draining
    }
    if wasDraining { try? await server.channel.close() }
    logger.info("listening", metadata: ["socket.path": "\(path)", "socket.mode": "\(String(configuration.mode, radix: 8))"])

    try await withThrowingDiscardingTaskGroup { group in
      try await server.executeThenClose { inbound in
        for try await (connection, peer) in inbound {
          group.addTask { await self.serve(connection, peer: peer) }
        }
      }
      // No longer accepting: give the open connections the grace period.
      let grace = configuration.drainGrace
      group.addTask {
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
          if self.state.withLock({ $0.connections.isEmpty }) { return }
          try? await Task.sleep(for: .milliseconds(20))
        }
        self.logger.warning("drain grace expired; cancelling remaining calls", metadata: ["calls.in_flight": "\(self.inFlight)"])
        for c in self.state.withLock({ Array($0.connections.values) }) { c.cancelAll(); c.close() }
      }
    }
    logger.info("socket server stopped", metadata: ["socket.path": "\(path)"])
  }

  /// Stops accepting; open connections finish their calls (new calls get
  /// `UNAVAILABLE`), then close. `run()` returns when all are done or the grace expires.
  public func beginShutdown() {
    let (channel, connections) = state.withLock { s -> ((any Channel)?, [ConnectionState]) in
      s.draining = true
      return (s.serverChannel, Array(s.connections.values))
    }
    channel?.close(promise: nil)
    for c in connections { c.drain() }
  }

  // MARK: - connections

  private func serve(_ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>, peer: PeerCredentials?) async {
    do {
      try await channel.executeThenClose { inbound, _ in
        let writer = ConnectionWriter(channel: channel.channel)
        guard let peer, configuration.access.allows(peer) else {
          logger.warning("connection refused", metadata: ["peer": "\(peer.map(String.init(describing:)) ?? "unknown")", "reason": "permission_denied"])
          try? await writer.write(.status(callID: 0, .permissionDenied, reason: "permission_denied",
                                          message: "peer \(peer.map { "uid \($0.uid)" } ?? "with unknown credentials") may not use this socket"))
          return
        }
        let conn = ConnectionState(channel: channel.channel, limit: configuration.maxInFlightPerConnection)
        let registered = state.withLock { s -> Bool in
          if s.draining { return false }
          s.connections[ObjectIdentifier(conn)] = conn
          return true
        }
        guard registered else {
          try? await writer.write(.status(callID: 0, .unavailable, reason: "draining", message: "the daemon is shutting down", retryable: true))
          return
        }
        defer { _ = state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(conn)) } }
        await withDiscardingTaskGroup { group in
          do {
            for try await payload in inbound {
              let frame: Switchboard_V1_Frame
              do { frame = try Switchboard_V1_Frame(payload: payload) } catch {
                throw error
              }
              await dispatch(frame, conn: conn, writer: writer, peer: peer, group: &group)
            }
          } catch let error as FrameError {
            logger.notice("protocol error; closing connection", metadata: ["peer": "\(peer)", "error": "\(error)"])
            conn.cancelAll()
            try? await writer.write(.status(callID: 0, .protocolError, reason: "protocol_error", message: error.description))
            conn.close()
          } catch {
            conn.cancelAll()
          }
          // Input is over. A client that half-closed still gets its answers;
          // a client that went away entirely has its calls cancelled.
          if !channel.channel.isActive { conn.cancelAll() }
        }
      }
    } catch {
      logger.debug("connection ended", metadata: ["error": "\(error)"])
    }
  }

  private func dispatch(_ frame: Switchboard_V1_Frame, conn: ConnectionState, writer: ConnectionWriter, peer: PeerCredentials,
                        group: inout DiscardingTaskGroup) async {
    let id = frame.callID
    switch frame.body {
    case .hello(let hello):
      let verdict = ProtocolHandshake(configuration: configuration).answer(hello)
      try? await writer.write(verdict.frame(callID: id))
      if verdict.closesConnection {
        logger.notice("protocol version refused; closing connection", metadata: ["peer": "\(peer)", "hello.protocol_version": "\(hello.protocolVersion)"])
        conn.cancelAll()
        conn.close()
      }
    case .completionRequest(let request):
      admit(id, conn: conn, writer: writer, peer: peer, group: &group) { call in
        await self.handler.handleCompletion(request, call: call)
      }
    case .adminRequest(let request):
      admit(id, conn: conn, writer: writer, peer: peer, group: &group) { call in
        await self.handler.handleAdmin(request, call: call)
      }
    case .cancel:
      conn.cancel(id)
    case nil:
      try? await writer.write(.status(callID: id, .invalidArgument, reason: "invalid_request", message: "frame has no body"))
    default:
      try? await writer.write(.status(callID: id, .invalidArgument, reason: "invalid_request",
                                      message: "a client may not send this frame type"))
    }
  }

  private func admit(_ id: UInt64, conn: ConnectionState, writer: ConnectionWriter, peer: PeerCredentials,
                     group: inout DiscardingTaskGroup, work: @escaping @Sendable (ServerCall) async -> Void) {
    let draining = state.withLock { $0.draining }
    let verdict: ConnectionState.Admission
    if draining {
      verdict = .draining
    } else if globalInFlight.wrappingAdd(1, ordering: .relaxed).newValue > configuration.maxInFlight {
      globalInFlight.wrappingSubtract(1, ordering: .relaxed)
      verdict = .overloaded("the daemon has \(configuration.maxInFlight) calls in flight")
    } else {
      verdict = conn.admit(id)
      if case .admitted = verdict {} else { globalInFlight.wrappingSubtract(1, ordering: .relaxed) }
    }
    switch verdict {
    case .admitted:
      let call = ServerCall(callID: id, peer: peer, writer: writer)
      group.addTask {
        let task = Task { await work(call) }
        conn.attach(id, task: task)
        await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
        if !call.isFinished {
          if task.isCancelled {
            await call.fail(.cancelled, reason: "cancelled", message: "the call was cancelled")
          } else {
            await call.fail(.internal, reason: "internal", message: "the call ended without a result")
          }
        }
        self.globalInFlight.wrappingSubtract(1, ordering: .relaxed)
        conn.release(id)
      }
    case .duplicate:
      group.addTask {
        try? await writer.write(.status(callID: id, .invalidArgument, reason: "invalid_request",
                                        message: "call_id \(id) is already in use on this connection"))
      }
    case .overloaded(let why):
      group.addTask {
        try? await writer.write(.status(callID: id, .overloaded, reason: "overloaded", message: why, retryable: true, retryAfterMs: 50))
      }
    case .draining:
      group.addTask {
        try? await writer.write(.status(callID: id, .unavailable, reason: "draining", message: "the daemon is shutting down", retryable: true))
      }
    }
  }
}

/// Per-connection call table: admission, cancellation, drain.
final class ConnectionState: Sendable {
  enum Admission { case admitted, duplicate, overloaded(String), draining }
  struct Calls: Sendable {
    var open: [UInt64: Task<Void, Never>?] = [:]
    /// Cancels that arrived before the call's task was attached.
    var cancelledEarly: Set<UInt64> = []
    var draining = false
  }
  private let calls = Mutex(Calls())
  private let channel: any Channel
  private let limit: Int

  init(channel: any Channel, limit: Int) { self.channel = channel; self.limit = limit }

  func admit(_ id: UInt64) -> Admission {
    calls.withLock { c in
      if c.draining { return .draining }
      if c.open.keys.contains(id) { return .duplicate }
      if c.open.count >= limit { return .overloaded("this connection has \(limit) calls in flight") }
      c.open[id] = .some(nil)
      return .admitted
    }
  }

  func attach(_ id: UInt64, task: Task<Void, Never>) {
    let early = calls.withLock { c -> Bool in
      guard c.open.keys.contains(id) else { return false }
      c.open[id] = task
      return c.cancelledEarly.remove(id) != nil
    }
    if early { task.cancel() }
  }

  func release(_ id: UInt64) {
    let closeNow = calls.withLock { c -> Bool in
      c.open.removeValue(forKey: id)
      c.cancelledEarly.remove(id)
      return c.draining && c.open.isEmpty
    }
    if closeNow { close() }
  }

  func cancel(_ id: UInt64) {
    let task = calls.withLock { c -> Task<Void, Never>? in
      guard let entry = c.open[id] else { return nil }  // unknown or finished call: nothing to do
      if entry == nil { c.cancelledEarly.insert(id) }
      return entry
    }
    task?.cancel()
  }

  func cancelAll() {
    for t in calls.withLock({ Array($0.open.values) }) { t?.cancel() }
  }

  func drain() {
    let idle = calls.withLock { c -> Bool in c.draining = true; return c.open.isEmpty }
    if idle { close() }
  }

  func close() { channel.close(promise: nil) }
}
