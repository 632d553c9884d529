import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A lean HTTP/1.1 keep-alive client for providers: per upstream host (and TLS
/// context) a pool of NIO channels on the daemon's event loop group, NIO's HTTP/1.1
/// codec, and each request written as head, body and end in one flush (one
/// `writev`). `https://` connections run TLS (swift-nio-ssl: TLS 1.2+, full
/// certificate and host-name verification, SNI, ALPN `http/1.1`), and a request is
/// written only once the handshake is done, so a TLS failure is a connect failure.
/// Response parts go straight from the channel handler to the attempt's event sink,
/// so the adapter's time limits, classification and streaming work exactly as with
/// AsyncHTTPClient (the escape hatch, and the fallback without a lean client).
///
/// Semantics the adapter relies on:
/// - at most `maxConnectionsPerHost` connections per host; further requests wait,
///   first come first served, and the wait counts against the connect limit (the
///   adapter's connect limit runs until the request head is written);
/// - a failed connection attempt fails the request that caused it at once (no retry);
/// - a connection is reused only after a response that ended cleanly and allowed
///   keep-alive; a cancelled request closes its connection;
/// - idle connections close after `idleTimeout`.
public final class LeanHTTPClient: Sendable {
  /// How the client connects and pools.
  public struct Configuration: Sendable {
    /// Connections kept per upstream host (open, idle or being opened); default 8.
    public var maxConnectionsPerHost: Int
    /// Backstop for opening a TCP connection (the per-call limit is the adapter's); default 10 s.
    public var connectTimeout: TimeAmount
    /// How long an unused connection stays open; default 60 s.
    public var idleTimeout: TimeAmount

    /// Creates a configuration.
    public init(maxConnectionsPerHost: Int = 8, connectTimeout: TimeAmount = .seconds(10), idleTimeout: TimeAmount = .seconds(60)) {
      self.maxConnectionsPerHost = max(1, maxConnectionsPerHost)
      self.connectTimeout = connectTimeout
      self.idleTimeout = idleTimeout
    }
  }

  typealias Pool = LeanHTTPPoolState<LeanHTTPConnection, LeanHTTPTask>

  /// The event loops the connections run on.
  public let eventLoopGroup: any EventLoopGroup
  /// The configuration.
  public let configuration: Configuration
  private let pools = Mutex<[LeanHTTPTarget.PoolKey: Pool]>([:])
  private let shutDown = Atomic<Bool>(false)
  private let nextID = Atomic<UInt64>(1)
  private let sweeper = Mutex<RepeatedTask?>(nil)
  private let defaultTLS = Mutex<LeanTLSContext??>(nil)

  /// Creates a client on `eventLoopGroup` (default: NIO's shared group).
  public init(eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
              configuration: Configuration = Configuration()) {
    self.eventLoopGroup = eventLoopGroup
    self.configuration = configuration
    let every = TimeAmount.nanoseconds(max(TimeAmount.milliseconds(100).nanoseconds, configuration.idleTimeout.nanoseconds / 2))
    let task = eventLoopGroup.next().scheduleRepeatedTask(initialDelay: every, delay: every) { [weak self] _ in
      self?.closeExpired()
    }
    sweeper.withLock { $0 = task }
  }

  /// The shared TLS context of the system trust roots (built on first use; nil if it
  /// cannot be built, and then `https` goes to AsyncHTTPClient).
  var defaultTLSContext: LeanTLSContext? {
    defaultTLS.withLock { cached in
      if let cached { return cached }
      let made = try? ProviderTLS(provider: "").context
      cached = .some(made)
      return made
    }
  }

  /// Whether `url` is one this client serves (`http[s]://host[:port]/path`).
  public static func canServe(_ url: String) -> Bool { LeanHTTPTarget(url) != nil }

  /// Connections currently open or being opened to `host:port` (idle ones included;
  /// plain and TLS pools together).
  public func openConnections(host: String, port: Int) -> Int {
    pools.withLock { $0.filter { $0.key.host == host && $0.key.port == port }.reduce(0) { $0 + $1.value.open } }
  }

  /// Requests waiting for a connection to `host:port` (plain and TLS pools together).
  public func waitingRequests(host: String, port: Int) -> Int {
    pools.withLock { $0.filter { $0.key.host == host && $0.key.port == port }.reduce(0) { $0 + $1.value.waiting } }
  }

  /// Sends a POST of `body` to `url`; events reach `onEvent` (on an event loop)
  /// and end with exactly one `.end` or `.failed`. Throws `LeanHTTPClientError.invalidURL`.
  func post(url: String, headers: HTTPHeaders, body: ByteBuffer,
            onEvent: @escaping @Sendable (AttemptEvent) -> Void) throws -> LeanHTTPTask {
    guard let target = LeanHTTPTarget(url) else { throw LeanHTTPClientError.invalidURL }
    return post(target, headers: headers, body: body, onEvent: onEvent)
  }

  /// Sends a POST of `body` to `target`. `onPhase` runs before anything else of
  /// the request: `.writing` on the connection's event loop just before the
  /// request is written to an idle connection (the adapter arms its watchdog
  /// there, so the timer lives on that loop), else `.waiting` when it is queued for
  /// a busy pool and `.connecting` when a connection is opened for it (at once;
  /// a queued request can later be `.connecting`, or go straight to a freed one).
  func post(_ target: LeanHTTPTarget, headers: HTTPHeaders, body: ByteBuffer,
            onPhase: (@Sendable (LeanHTTPTask.Phase) -> Void)? = nil,
            onEvent: @escaping @Sendable (AttemptEvent) -> Void) -> LeanHTTPTask {
    var headers = headers
    if !headers.contains(name: "host") { headers.add(name: "host", value: target.hostHeader) }
    headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
    headers.remove(name: "transfer-encoding")
    let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target.path, headers: headers)
    let task = LeanHTTPTask(id: nextID.wrappingAdd(1, ordering: .relaxed).oldValue, target: target, head: head, body: body,
                            client: self, onPhase: onPhase, onEvent: onEvent)
    acquire(for: task)
    return task
  }

  /// Closes idle connections and fails waiting requests; requests on a connection
  /// run to their end. Later requests fail with `shutDown`.
  public func shutdown() async {
    shutDown.store(true, ordering: .relaxed)
    sweeper.withLock { $0?.cancel(); $0 = nil }
    let drained = pools.withLock { pools in
      var idle: [LeanHTTPConnection] = []
      var waiters: [LeanHTTPTask] = []
      for key in pools.keys {
        let (i, w) = pools[key]!.shutDown()
        idle += i; waiters += w
      }
      return (idle, waiters)
    }
    for connection in drained.0 { connection.close() }
    for task in drained.1 { task.finish(.failed(LeanHTTPClientError.shutDown)) }
  }

  // MARK: - pool transitions (called by tasks and connections)

  private func acquire(for task: LeanHTTPTask) {
    let key = task.target.poolKey
    let action: Pool.AcquireAction = pools.withLock { pools in
      if shutDown.load(ordering: .relaxed) { return .fail }
      let action = pools[key, default: Pool(limit: configuration.maxConnectionsPerHost)]
        .acquire(id: task.id, task, isUsable: { $0.isActive }, prefers: { $0.channel.eventLoop.inEventLoop })
      // Marked under the pool's lock, before a release can hand it a connection or open one for it.
      if case .wait = action { task.markWaiting() }
      return action
    }
    switch action {
    case .use(let connection): run(task, on: connection)  // dispatched on the connection's loop
    case .connect: task.entered(.connecting); connect(for: task)
    case .wait: task.entered(.waiting)
    case .fail: task.dispatched(); task.finish(.failed(LeanHTTPClientError.shutDown))
    }
  }

  /// A cancelled task leaves the queue (if it is still in it).
  func dequeue(_ task: LeanHTTPTask) {
    _ = pools.withLock { $0[task.target.poolKey]?.removeWaiter(id: task.id) }
  }

  /// A task handed to a connection that turned out closed or busy, before anything was written.
  func requeue(_ task: LeanHTTPTask, from connection: LeanHTTPConnection?) {
    acquire(for: task)
  }

  /// A connection finished a response cleanly and may serve the next request.
  func release(_ connection: LeanHTTPConnection) {
    let key = connection.key
    let now = NIODeadline.now().uptimeNanoseconds
    let action = pools.withLock { $0[key]?.release(connection, now: now) ?? .close(connection) }
    perform(action, key: key)
  }

  private func perform(_ action: Pool.ReleaseAction, key: LeanHTTPTarget.PoolKey) {
    switch action {
    case .handOver(let connection, let task): run(task, on: connection)
    case .connect(let task): task.entered(.connecting); connect(for: task)
    case .close(let connection): connection.close()
    case .idle, .none: break
    }
  }

  private func run(_ task: LeanHTTPTask, on connection: LeanHTTPConnection) {
    if task.begin(on: connection) {
      connection.start(task)
    } else {
      task.dispatched()
      release(connection)  // cancelled meanwhile: the connection serves the next one
    }
  }

  private func connect(for task: LeanHTTPTask) {
    let key = task.target.poolKey
    let tls = key.tls.map { tls in
      // SNI and the host-name check use the name; an IP literal is checked against
      // the certificate's IP addresses instead (NIOSSL takes the peer's address).
      (context: tls.context, serverName: (try? SocketAddress(ipAddress: key.host, port: 0)) == nil ? key.host : nil)
    }
    let handshakeLimit = configuration.connectTimeout
    // The handlers this connection's initializer made, kept here: looking them up in
    // the pipeline afterwards failed with `notFound` when the channel had already
    // closed (a TLS handshake that failed before the connect's callback ran).
    let made = MadeHandlersBox()
    // On the caller's event loop when it runs on one of the group's (`any()`), so
    // the answer comes back on the loop that waits for it; else the next loop.
    ClientBootstrap(group: eventLoopGroup.any())
      .connectTimeout(configuration.connectTimeout)
      .channelOption(.socketOption(.tcp_nodelay), value: 1)
      .channelInitializer { [self] channel in
        channel.eventLoop.makeCompletedFuture {
          var handshake: LeanTLSHandshakeHandler?
          if let tls {
            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverName))
            let h = LeanTLSHandshakeHandler(limit: handshakeLimit)
            try channel.pipeline.syncOperations.addHandler(h)
            handshake = h
          }
          try channel.pipeline.syncOperations.addHTTPClientHandlers()
          let connection = LeanHTTPConnectionHandler(client: self)
          try channel.pipeline.syncOperations.addHandler(connection)
          made.value.withLock { $0 = MadeHandlers(handshake: handshake, connection: connection) }
        }
      }
      .connect(host: key.host, port: key.port)
      .flatMap { channel -> EventLoopFuture<any Channel> in
        guard let waiter = made.value.withLock({ $0?.handshake }) else { return channel.eventLoop.makeSucceededFuture(channel) }
        let bound = NIOLoopBound(waiter, eventLoop: channel.eventLoop)
        return waiter.handshakeDone.map {
          channel.pipeline.syncOperations.removeHandler(bound.value, promise: nil)
          return channel
        }.flatMapErrorThrowing { error in
          channel.close(promise: nil)
          throw error
        }
      }
      .whenComplete { [self] result in
        switch result {
        case .success(let channel):
          guard let handler = made.value.withLock({ $0?.connection }) else {
            channel.close(promise: nil)
            perform(pools.withLock { $0[key]?.connectFailed() ?? .none }, key: key)
            task.finish(.failed(LeanHTTPClientError.connectionClosed))
            return
          }
          let connection = LeanHTTPConnection(key: key, channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
          handler.connection = connection
          channel.closeFuture.whenComplete { [self] _ in
            perform(pools.withLock { $0[key]?.closed(connection) ?? .none }, key: key)
          }
          run(task, on: connection)
        case .failure(let error):
          perform(pools.withLock { $0[key]?.connectFailed() ?? .none }, key: key)
          task.finish(.failed(LeanHTTPClientError(tlsError: error) ?? error))
        }
      }
  }

  private func closeExpired() {
    let now = NIODeadline.now().uptimeNanoseconds, idle = UInt64(max(0, configuration.idleTimeout.nanoseconds))
    guard now > idle else { return }
    let before = now - idle
    let expired = pools.withLock { pools in
      var out: [LeanHTTPConnection] = []
      for key in pools.keys { out += pools[key]!.expire(before: before) }
      return out
    }
    for connection in expired { connection.close() }
  }
}

/// The handlers a new connection's initializer added (its event loop owns them).
private struct MadeHandlers: @unchecked Sendable {
  let handshake: LeanTLSHandshakeHandler?
  let connection: LeanHTTPConnectionHandler
}

private final class MadeHandlersBox: Sendable {
  let value = Mutex<MadeHandlers?>(nil)
}
