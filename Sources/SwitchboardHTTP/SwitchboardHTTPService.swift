import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import SwitchboardCore
import SwitchboardDaemon
import SwitchboardWire

/// The OpenAI-compatible HTTP endpoint as a ServiceLifecycle service, next to
/// the socket server in `switchboardd`. Serves `http.listen` (TCP) and/or
/// `http.socket` (HTTP over a Unix socket) with Hummingbird 2. On graceful
/// shutdown it stops accepting and lets in-flight requests finish; put it after
/// the daemon service in the group so it stops first.
public final class SwitchboardHTTPService: Service, Sendable {
  let runtime: DaemonRuntime
  let settings: HTTPSettings
  let identity: HTTPIdentity
  let logger: Logger
  private let bound = Mutex<(tcp: SocketAddress?, waiters: [CheckedContinuation<SocketAddress?, Never>])>((nil, []))

  /// Creates the service; throws when a token's environment variable is missing.
  public init(runtime: DaemonRuntime, settings: HTTPSettings,
              environment: [String: String] = ProcessInfo.processInfo.environment) throws {
    self.runtime = runtime
    self.settings = settings
    self.identity = try HTTPIdentity(settings: settings.tokens, environment: environment)
    self.logger = runtime.logger
  }

  /// The TCP address once listening (the real port when `http.listen` has port 0).
  public func waitUntilListening() async -> SocketAddress? {
    await withCheckedContinuation { c in
      let ready: SocketAddress?? = bound.withLock { s in
        if let a = s.tcp { return .some(a) }
        s.waiters.append(c)
        return .none
      }
      if let ready { c.resume(returning: ready) }
    }
  }

  private func listening(_ address: SocketAddress?) {
    let waiters = bound.withLock { s in
      s.tcp = address
      defer { s.waiters = [] }
      return s.waiters
    }
    for w in waiters { w.resume(returning: address) }
  }

  /// Serves until graceful shutdown, then lets in-flight requests finish and removes the HTTP socket file.
  public func run() async throws {
    let endpoint = OpenAIEndpoint(runtime: runtime, settings: settings, identity: identity, logger: logger)
    let responder = CallbackResponder<HTTPRequestContext> { request, context in await endpoint.respond(request, context) }
    let idle = TimeAmount.nanoseconds(settings.idleTimeout.nanoseconds)
    let server = HTTPServerBuilder.http1(configuration: .init(additionalChannelHandlers: [ClientGoneHandler()], idleTimeout: idle))
    var apps: [any Service] = []
    let logger = self.logger
    if let hp = settings.listenHostPort {
      apps.append(Application(
        responder: responder, server: server,
        configuration: .init(address: .hostname(hp.host, port: hp.port), availableConnectionsDelegate: MaximumAvailableConnections(settings.maxConnections, logger: logger)),
        onServerRunning: { [weak self] channel in
          let address = channel.localAddress
          logger.notice("http listening", metadata: ["http.address": "\(address?.ipAddress ?? hp.host):\(address?.port ?? hp.port)",
                                                     "http.tokens": "\(self?.identity.requiresToken == true ? "required" : "loopback-only")",
                                                     "listener": "http"])
          self?.listening(address)
        },
        logger: logger))
    }
    let socketPath = settings.socket
    if let path = socketPath {
      try SocketFile.prepare(path: path)
      let mode = runtime.configuration.server.mode, group = runtime.configuration.server.group
      apps.append(Application(
        responder: responder, server: server,
        configuration: .init(address: .unixDomainSocket(path: path), availableConnectionsDelegate: MaximumAvailableConnections(settings.maxConnections, logger: logger)),
        onServerRunning: { _ in
          do { try SocketFile.applyPermissions(path: path, mode: mode, group: group) } catch {
            logger.error("http socket permissions", metadata: ["error": "\(error)"])
          }
          logger.notice("http listening", metadata: ["http.socket": "\(path)", "listener": "http"])
        },
        logger: logger))
    }
    if settings.listenHostPort == nil { listening(nil) }
    defer { if let socketPath { SocketFile.remove(path: socketPath) } }
    let group = ServiceGroup(services: apps, logger: logger)
    do { try await group.run() } catch {
      listening(nil)
      throw error
    }
  }
}
