import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A tiny HTTP/1.1 server for Prometheus scrapes.
///
/// `GET /metrics` → 200 `text/plain; version=0.0.4` with `render()`'s output;
/// `GET /healthz` → 200 `ok`; anything else → 404. It binds to a loopback address
/// unless `allowNonLoopback` is set, since the metrics name providers, models and
/// budget scopes. `run()` serves until `shutdown()` is called or its task is cancelled.
public final class MetricsServer: Sendable {
  private enum State {
    case idle(waiters: [CheckedContinuation<Int, any Error>])
    case binding(waiters: [CheckedContinuation<Int, any Error>], shutdownRequested: Bool)
    case running(port: Int, channel: any Channel)
    case finished
  }

  private let host: String
  private let port: Int
  private let allowNonLoopback: Bool
  private let render: @Sendable () -> String
  private let logger: Logger
  private let group: any EventLoopGroup
  private let state = Mutex<State>(.idle(waiters: []))

  /// Creates a server; nothing is bound until `run()`.
  ///
  /// - Parameters:
  ///   - host: Address to bind: an IP literal or `localhost`.
  ///   - port: Port to bind; 0 picks a free one (see `boundPort`, `waitUntilBound()`).
  ///   - allowNonLoopback: Whether a non-loopback `host` is accepted; default `false`.
  ///   - render: Produces the `/metrics` body; called once per scrape, off the event loop.
  ///   - logger: Where bind, shutdown and connection errors go.
  ///   - eventLoopGroup: The event loops to use; default the NIO singleton.
  public init(host: String, port: Int, allowNonLoopback: Bool = false,
              render: @escaping @Sendable () -> String, logger: Logger,
              eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
    self.host = host; self.port = port; self.allowNonLoopback = allowNonLoopback
    self.render = render; self.logger = logger; self.group = eventLoopGroup
  }

  /// The port the server listens on, once bound (nil before and after).
  public var boundPort: Int? {
    state.withLock { if case .running(let port, _) = $0 { return port } else { return nil } }
  }

  /// Waits until the server is listening and returns its port.
  /// Throws `MetricsServerError` if it failed to bind or was shut down first.
  public func waitUntilBound() async throws -> Int {
    try await withCheckedThrowingContinuation { (c: CheckedContinuation<Int, any Error>) in
      let resume: Result<Int, any Error>? = state.withLock { s in
        switch s {
        case .idle(var waiters):
          waiters.append(c); s = .idle(waiters: waiters); return nil
        case .binding(var waiters, let requested):
          waiters.append(c); s = .binding(waiters: waiters, shutdownRequested: requested); return nil
        case .running(let port, _):
          return .success(port)
        case .finished:
          return .failure(MetricsServerError(code: .shutDown, message: "the server is not running"))
        }
      }
      if let resume { c.resume(with: resume) }
    }
  }

  /// Stops accepting connections and closes open ones; `run()` then returns.
  public func shutdown() {
    let action: (channel: (any Channel)?, waiters: [CheckedContinuation<Int, any Error>]) = state.withLock { s in
      switch s {
      case .idle(let waiters):
        s = .finished; return (nil, waiters)
      case .binding(let waiters, _):
        s = .binding(waiters: waiters, shutdownRequested: true); return (nil, [])
      case .running(_, let channel):
        s = .finished; return (channel, [])
      case .finished:
        return (nil, [])
      }
    }
    action.channel?.close(promise: nil)
    let error = MetricsServerError(code: .shutDown, message: "shut down before it was bound")
    for w in action.waiters { w.resume(throwing: error) }
  }

  /// Binds and serves until `shutdown()` or cancellation of the calling task, then returns normally.
  /// Throws `MetricsServerError` if the host is refused or the port cannot be bound.
  public func run() async throws {
    let proceed: Bool = try state.withLock { s in
      switch s {
      case .idle(let waiters): s = .binding(waiters: waiters, shutdownRequested: false); return true
      case .finished: return false
      case .binding, .running:
        throw MetricsServerError(code: .alreadyStarted, message: "run() was already called")
      }
    }
    guard proceed else { return }

    let server: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    do {
      try Self.checkHost(host, allowNonLoopback: allowNonLoopback)
      server = try await ServerBootstrap(group: group)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .bind(host: host, port: port) { channel in
          channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
            return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
          }
        }
    } catch {
      let failure = (error as? MetricsServerError)
        ?? MetricsServerError(code: .shutDown, message: "could not bind \(host):\(port)", cause: "\(error)")
      let waiters = state.withLock { s -> [CheckedContinuation<Int, any Error>] in
        defer { s = .finished }
        if case .binding(let waiters, _) = s { return waiters }
        return []
      }
      for w in waiters { w.resume(throwing: failure) }
      throw failure
    }

    let boundPort = server.channel.localAddress?.port ?? port
    let (waiters, stopNow) = state.withLock { s -> ([CheckedContinuation<Int, any Error>], Bool) in
      guard case .binding(let waiters, let requested) = s else { return ([], true) }
      s = requested ? .finished : .running(port: boundPort, channel: server.channel)
      return (waiters, requested)
    }
    if stopNow {
      server.channel.close(promise: nil)
      let error = MetricsServerError(code: .shutDown, message: "shut down before it was bound")
      for w in waiters { w.resume(throwing: error) }
    } else {
      for w in waiters { w.resume(returning: boundPort) }
      logger.notice("metrics server listening", metadata: ["metrics.address": "\(host):\(boundPort)", "listener": "metrics"])
    }

    do {
      try await withTaskCancellationHandler {
        try await withThrowingDiscardingTaskGroup { group in
          try await server.executeThenClose { connections in
            for try await connection in connections {
              group.addTask { await self.serve(connection) }
            }
          }
          // The listener is closed: drop keep-alive connections too.
          group.cancelAll()
        }
      } onCancel: {
        self.shutdown()
      }
    } catch {
      // Errors caused by shutdown or cancellation end the server normally.
      let stopping = Task.isCancelled || state.withLock { if case .finished = $0 { true } else { false } }
      state.withLock { $0 = .finished }
      guard stopping else {
        logger.error("metrics server failed", metadata: ["error.message": "\(error)"])
        throw error
      }
    }
    state.withLock { $0 = .finished }
    logger.info("metrics server stopped")
  }

  private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
    do {
      try await connection.executeThenClose { inbound, outbound in
        var head: HTTPRequestHead?
        for try await part in inbound {
          switch part {
          case .head(let h): head = h
          case .body: continue  // Ignored: no route takes a body.
          case .end:
            guard let h = head else { continue }
            head = nil
            let keepAlive = h.isKeepAlive
            let (status, contentType, body) = respond(to: h)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: contentType)
            headers.add(name: "Content-Length", value: String(body.utf8.count))
            if !keepAlive { headers.add(name: "Connection", value: "close") }
            try await outbound.write(.head(HTTPResponseHead(version: h.version, status: status, headers: headers)))
            if h.method != .HEAD {
              try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body))))
            }
            try await outbound.write(.end(nil))
            if !keepAlive { return }
          }
        }
      }
    } catch is CancellationError {
      // Shutdown.
    } catch {
      logger.debug("metrics connection failed", metadata: ["error.message": "\(error)"])
    }
  }

  private func respond(to head: HTTPRequestHead) -> (HTTPResponseStatus, String, String) {
    let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
    guard head.method == .GET || head.method == .HEAD else { return (.notFound, "text/plain; charset=utf-8", "not found\n") }
    switch path {
    case "/metrics": return (.ok, "text/plain; version=0.0.4; charset=utf-8", render())
    case "/healthz": return (.ok, "text/plain; charset=utf-8", "ok")
    default: return (.notFound, "text/plain; charset=utf-8", "not found\n")
    }
  }

  /// Whether `host` is a loopback address (`127.0.0.0/8`, `::1`, or `localhost`).
  static func isLoopback(_ host: String) -> Bool? {
    if host == "localhost" { return true }
    guard let address = try? SocketAddress(ipAddress: host, port: 0), let ip = address.ipAddress else { return nil }
    switch address {
    case .v4: return ip.hasPrefix("127.")
    case .v6: return ip == "::1" || ip.lowercased().hasPrefix("::ffff:127.")
    default: return false
    }
  }

  static func checkHost(_ host: String, allowNonLoopback: Bool) throws {
    guard let loopback = isLoopback(host) else {
      if allowNonLoopback { return }
      throw MetricsServerError(code: .invalidHost,
                               message: "metrics host '\(host)' is not an IP address or 'localhost'")
    }
    if !loopback && !allowNonLoopback {
      throw MetricsServerError(code: .nonLoopbackHost,
                               message: "metrics host '\(host)' is not a loopback address; set allow_non_loopback to expose metrics on it")
    }
  }
}
