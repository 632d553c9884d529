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
/// credentials, splits frames, multiplexes calls per connection, bounds what each
/// connection may hold, sheds load with `OVERLOADED`, and drains on shutdown.
///
/// Each connection is served by one task; each call is a cancellable child task
/// of it. No `NIOAsyncChannel` is involved: accepted channels travel to the
/// serving loop through an `AsyncStream`, and one that arrives after the loop
/// ended is simply closed.
public final class UnixSocketServer: Sendable {
  private let handler: any CallHandler
  private let group: any EventLoopGroup
  private let logger: Logger
  private let observer: (any UnixSocketServerObserver)?
  private let completionsInFlight = Atomic<Int>(0)
  private let adminInFlight = Atomic<Int>(0)
  private let state: Mutex<ServerState>
  private let budget: InboundBudget

  struct ServerState: Sendable {
    var configuration: UnixSocketServerConfiguration
    var serverChannel: (any Channel)?
    var draining = false
    var listening = false
    var startFailure: (any Error)?
    var listenWaiters: [CheckedContinuation<Void, any Error>] = []
    var connections: ConnectionTable<ServerConnection>
  }

  /// Creates a server.
  public init(configuration: UnixSocketServerConfiguration, handler: any CallHandler,
              group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger,
              observer: (any UnixSocketServerObserver)? = nil) {
    self.handler = handler; self.group = group; self.logger = logger; self.observer = observer
    self.state = Mutex(ServerState(configuration: configuration, connections: ConnectionTable(limit: configuration.maxConnections)))
    self.budget = InboundBudget(limit: configuration.maxInboundBufferBytes)
  }

  /// Settings in force (limits and access change on `update`).
  public var configuration: UnixSocketServerConfiguration { state.withLock { $0.configuration } }

  /// Completion calls in flight on every connection (what `maxInFlight` limits).
  public var inFlight: Int { completionsInFlight.load(ordering: .relaxed) }

  /// Admin and health calls in flight on every connection.
  public var adminCallsInFlight: Int { adminInFlight.load(ordering: .relaxed) }

  /// Open connections.
  public var connectionCount: Int { state.withLock { $0.connections.count } }

  /// Applies a reloaded configuration: access, admin rights, call and connection
  /// limits take effect at once (connections whose peer is no longer allowed are
  /// closed); the socket's mode and group are re-applied; frame size, timeouts and
  /// the outbound limit apply to connections accepted from now on. The socket path
  /// and the partial-frame budget cannot change here (the caller refuses that).
  public func update(_ next: UnixSocketServerConfiguration) throws {
    let (connections, listening) = state.withLock { s -> ([ServerConnection], Bool) in
      s.configuration = next
      s.connections.limit = next.maxConnections
      return (s.connections.all, s.listening)
    }
    let limits = Self.limits(next)
    for c in connections {
      if let peer = c.peer, !Self.allows(next, peer) {
        logger.notice("closing connection: peer no longer allowed", metadata: ["peer": "\(peer)"])
        c.cancelAll()
        c.close()
      } else {
        c.setLimits(limits)
      }
    }
    if listening { try SocketFile.applyPermissions(path: next.path, mode: next.mode, group: next.group) }
  }

  static func allows(_ c: UnixSocketServerConfiguration, _ peer: PeerCredentials) -> Bool {
    c.access.allows(peer) || c.admin.allows(peer)
  }

  /// `d` as a NIO time amount (saturating).
  static func timeAmount(_ d: Duration) -> TimeAmount {
    let (s, a) = d.components
    let (m, o) = s.multipliedReportingOverflow(by: 1_000_000_000)
    return .nanoseconds(o ? (s < 0 ? .min : .max) : m &+ a / 1_000_000_000)
  }

  static func limits(_ c: UnixSocketServerConfiguration) -> CallTable<CallHandle>.Limits {
    .init(completions: c.maxInFlightPerConnection, admin: c.reservedAdminCallsPerConnection)
  }

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
  /// period (then answers the rest `UNAVAILABLE`) and removes the socket file.
  public func run() async throws {
    let configuration = self.configuration
    let path = configuration.path
    do { try SocketFile.prepare(path: path) } catch { throw failStart(error) }
    let (accepted, acceptor) = AsyncStream.makeStream(of: ServerConnection.self)
    let serverChannel: any Channel
    do {
      serverChannel = try await ServerBootstrap(group: group)
        .serverChannelOption(.backlog, value: 256)
        .childChannelOption(.allowRemoteHalfClosure, value: true)
        .childChannelInitializer { [self] channel in
          PeerCredentials.read(from: channel)
            .map { Optional($0) }
            .recover { _ in nil }
            .flatMapThrowing { peer in
              let c = self.configuration
              let settings = ConnectionHandler.Settings(
                maxFrameBytes: c.maxFrameBytes, maxOutboundBytes: c.maxOutboundBytesPerConnection,
                writeTimeout: Self.timeAmount(c.writeTimeout), idleTimeout: Self.timeAmount(c.idleTimeout),
                frameReadTimeout: Self.timeAmount(c.frameReadTimeout))
              let (events, continuation) = AsyncStream.makeStream(of: InboundEvent.self)
              let counters = ConnectionCounters()
              try channel.pipeline.syncOperations.addHandler(
                ConnectionHandler(settings: settings, events: continuation, budget: self.budget, counters: counters))
              let connection = ServerConnection(channel: channel, peer: peer, inbound: events, counters: counters,
                                                limits: Self.limits(c), maxBufferedFrames: settings.maxBufferedFrames)
              if case .terminated = acceptor.yield(connection) { channel.close(promise: nil) }
            }
        }
        .bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false).get()
    } catch { acceptor.finish(); throw failStart(error) }
    defer { SocketFile.remove(path: path) }
    do {
      try SocketFile.applyPermissions(path: path, mode: configuration.mode, group: configuration.group)
    } catch {
      acceptor.finish()
      try? await serverChannel.close()
      throw failStart(error)
    }
    let wasDraining = state.withLock { s -> Bool in
      s.serverChannel = serverChannel
      s.listening = true
      let w = s.listenWaiters
      s.listenWaiters = []
      for c in w { c.resume() }
      return s.draining
    }
    serverChannel.closeFuture.whenComplete { _ in acceptor.finish() }
    if wasDraining { serverChannel.close(promise: nil) }
    logger.notice("listening", metadata: ["socket.path": "\(path)", "socket.mode": "\(String(configuration.mode, radix: 8))",
                                          "listener": "socket"])

    await withDiscardingTaskGroup { group in
      for await connection in accepted {
        group.addTask { await self.serve(connection) }
      }
      // No longer accepting: give the open connections the grace period.
      let grace = self.configuration.drainGrace
      group.addTask {
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
          if self.state.withLock({ $0.connections.isEmpty }) { return }
          try? await Task.sleep(for: .milliseconds(10))
        }
        let remaining = self.state.withLock { $0.connections.all }
        self.logger.warning("drain grace expired; answering remaining calls UNAVAILABLE",
                            metadata: ["calls.in_flight": .stringConvertible(self.inFlight + self.adminCallsInFlight), "connections": .stringConvertible(remaining.count)])
        for c in remaining { c.expire() }
      }
    }
    logger.info("socket server stopped", metadata: ["socket.path": "\(path)"])
  }

  /// Stops accepting; open connections finish their calls (new calls get
  /// `UNAVAILABLE`), then close. `run()` returns when all are done or the grace expires.
  public func beginShutdown() {
    let (channel, connections) = state.withLock { s -> ((any Channel)?, [ServerConnection]) in
      s.draining = true
      return (s.serverChannel, s.connections.beginDrain())
    }
    channel?.close(promise: nil)
    for c in connections { c.drain() }
  }

  // MARK: - connections

  private func refuse(_ connection: ServerConnection, _ code: Switchboard_V1_Status.Code, reason: String, message: String,
                      retryable: Bool = false) {
    observer?.frameRejected(reason: reason)
    _ = connection.writer.write(.status(callID: 0, code, reason: reason, message: message, retryable: retryable))
    connection.writer.closeRefused()
  }

  private func serve(_ connection: ServerConnection) async {
    let configuration = self.configuration
    guard let peer = connection.peer, Self.allows(configuration, peer) else {
      logger.warning("connection refused", metadata: ["peer": "\(connection.peer.map(String.init(describing:)) ?? "unknown")", "reason": "permission_denied"])
      refuse(connection, .permissionDenied, reason: "permission_denied",
             message: "peer \(connection.peer.map { "uid \($0.uid)" } ?? "with unknown credentials") may not use this socket")
      return
    }
    // Access is checked again under the lock that admits the connection: a reload
    // (`update`) swaps the configuration and sweeps the admitted connections under
    // that same lock, so a connection checked against the old access list just
    // before a reload is either swept by it or refused here, never missed by both.
    let admission = state.withLock { s -> ConnectionTable<ServerConnection>.Admission? in
      guard Self.allows(s.configuration, peer) else { return nil }
      return s.connections.admit(connection)
    }
    guard let admission else {
      logger.warning("connection refused", metadata: ["peer": "\(peer)", "reason": "permission_denied"])
      refuse(connection, .permissionDenied, reason: "permission_denied", message: "peer uid \(peer.uid) may not use this socket")
      return
    }
    let id: UInt64
    switch admission {
    case .accepted(let i): id = i
    case .full(let limit):
      logger.warning("connection refused", metadata: ["peer": "\(peer)", "reason": "max_connections"])
      refuse(connection, .overloaded, reason: "max_connections", message: "the daemon has \(limit) connections open", retryable: true)
      return
    case .draining:
      refuse(connection, .unavailable, reason: "draining", message: "the daemon is shutting down", retryable: true)
      return
    }
    defer { _ = state.withLock { $0.connections.remove(id) } }
    if state.withLock({ $0.draining }) { connection.drain() }  // shutdown began while this one was being admitted

    await withDiscardingTaskGroup { group in
      for await event in connection.inbound {
        switch event {
        case .frame(let frame):
          connection.consumed()
          dispatch(frame, connection: connection, peer: peer, group: &group)
        case .rejected(let error):
          observer?.frameRejected(reason: error.kind.rawValue)
          switch error.kind {
          case .writeTimeout, .idleTimeout:
            // The handler closed the connection; the client does not read, or is gone.
            logger.notice("closing connection", metadata: ["peer": "\(peer)", "reason": "\(error.kind.rawValue)"])
            connection.cancelAll()
          default:
            logger.notice("protocol error; closing connection", metadata: ["peer": "\(peer)", "error": "\(error)"])
            connection.cancelAll()
            _ = connection.writer.write(.status(callID: 0, .protocolError, reason: "protocol_error", message: error.description))
            connection.writer.closeRefused()
          }
        }
      }
      // Input is over. A client that half-closed still gets its answers;
      // a client that went away entirely has its calls cancelled.
      if !connection.channel.isActive { connection.cancelAll() }
    }
    connection.writer.closeAfterPendingWrites()
  }

  private func dispatch(_ frame: Switchboard_V1_Frame, connection: ServerConnection, peer: PeerCredentials,
                        group: inout DiscardingTaskGroup) {
    let id = frame.callID
    let writer = connection.writer
    switch frame.body {
    case .hello(let hello):
      let verdict = ProtocolHandshake(configuration: configuration).answer(hello)
      _ = writer.write(verdict.frame(callID: id))
      if verdict.closesConnection {
        logger.notice("protocol version refused; closing connection", metadata: ["peer": "\(peer)", "hello.protocol_version": .stringConvertible(hello.protocolVersion)])
        observer?.frameRejected(reason: ProtocolHandshake.unsupportedVersionReason)
        connection.cancelAll()
        writer.closeAfterPendingWrites()
      }
    case .completionRequest(let request):
      admit(id, kind: .completion, connection: connection, peer: peer, group: &group) { call in
        await self.handler.handleCompletion(request, call: call)
      }
    case .adminRequest(let request):
      admit(id, kind: .admin, connection: connection, peer: peer, group: &group) { call in
        await self.handler.handleAdmin(request, call: call)
      }
    case .cancel:
      connection.cancel(id)
    case nil:
      _ = writer.write(.status(callID: id, .invalidArgument, reason: "invalid_request", message: "frame has no body"))
    default:
      _ = writer.write(.status(callID: id, .invalidArgument, reason: "invalid_request",
                               message: "a client may not send this frame type"))
    }
  }


  /// Takes a daemon-wide slot of `kind`; nil when the limit is reached.
  private func takeGlobalSlot(_ kind: CallTable<CallHandle>.Kind, _ c: UnixSocketServerConfiguration) -> String? {
    switch kind {
    case .completion:
      if completionsInFlight.wrappingAdd(1, ordering: .relaxed).newValue > c.maxInFlight {
        completionsInFlight.wrappingSubtract(1, ordering: .relaxed)
        return "the daemon has \(c.maxInFlight) calls in flight"
      }
    case .admin:
      if adminInFlight.wrappingAdd(1, ordering: .relaxed).newValue > c.reservedAdminCalls {
        adminInFlight.wrappingSubtract(1, ordering: .relaxed)
        return "the daemon has \(c.reservedAdminCalls) admin calls in flight"
      }
    }
    return nil
  }

  private func releaseGlobalSlot(_ kind: CallTable<CallHandle>.Kind) {
    switch kind {
    case .completion: completionsInFlight.wrappingSubtract(1, ordering: .relaxed)
    case .admin: adminInFlight.wrappingSubtract(1, ordering: .relaxed)
    }
  }

  private func admit(_ id: UInt64, kind: CallTable<CallHandle>.Kind, connection: ServerConnection, peer: PeerCredentials,
                     group: inout DiscardingTaskGroup, work: @escaping @Sendable (ServerCall) async -> Void) {
    let c = configuration
    let writer = connection.writer
    let verdict: CallTable<CallHandle>.Admission
    var admitted: CallHandle?
    if state.withLock({ $0.draining }) {
      verdict = .draining
    } else if let why = takeGlobalSlot(kind, c) {
      verdict = .overloaded(why)
    } else {
      let (v, handle) = connection.admit(id, kind: kind) { generation in
        let call = ServerCall(callID: id, peer: peer, writer: writer, onTerminal: { [self] in
          self.releaseGlobalSlot(kind)
          return connection.release(id, generation: generation)
        })
        return CallHandle(call: call, task: CancellableTaskHandle())
      }
      verdict = v
      if let handle { admitted = handle } else { releaseGlobalSlot(kind) }
    }
    switch verdict {
    case .admitted:
      guard let handle = admitted else { return }
      let call = handle.call
      // If the drain already expired this call, its handle is cancelled and the
      // task starts cancelled; its UNAVAILABLE status is already queued.
      group.addCancellableTask(handle: handle.task) {
        await work(call)
        if !call.isFinished {
          if Task.isCancelled || call.isCancelled {
            await call.fail(.cancelled, reason: "cancelled", message: "the call was cancelled")
          } else {
            await call.fail(.internal, reason: "internal", message: "the call ended without a result")
          }
        }
      }
    case .duplicate:
      _ = writer.write(.status(callID: id, .invalidArgument, reason: "invalid_request",
                               message: "call_id \(id) is already in use on this connection"))
    case .overloaded(let why):
      _ = writer.write(.status(callID: id, .overloaded, reason: "overloaded", message: why, retryable: true, retryAfterMs: 50))
    case .draining:
      _ = writer.write(.status(callID: id, .unavailable, reason: "draining", message: "the daemon is shutting down", retryable: true))
    }
  }
}
