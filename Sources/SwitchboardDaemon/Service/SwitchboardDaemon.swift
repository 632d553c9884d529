import Foundation
import Logging
import ServiceLifecycle
import SwitchboardCore
import SwitchboardFleet
import SwitchboardWire
import UnixSignals

/// The daemon as a ServiceLifecycle service: serves the socket, the metrics
/// endpoint, reloads on SIGHUP, prunes the audit store; on graceful shutdown it
/// stops accepting, drains in-flight calls, flushes the audit store and removes
/// the socket.
public final class SwitchboardDaemonService: Service, Sendable {
  public let runtime: DaemonRuntime

  /// Creates the service around a built runtime.
  public init(runtime: DaemonRuntime) { self.runtime = runtime }

  public func run() async throws {
    let runtime = self.runtime
    let config = runtime.configuration
    runtime.tracer.start()
    var metricsServer: MetricsServer?
    if !config.metricsListen.isEmpty {
      let (host, port) = DaemonConfiguration.splitHostPort(config.metricsListen) ?? ("127.0.0.1", 9464)
      let router = runtime.router
      let ledger = runtime.ledger
      let fleet = runtime.fleet
      let metrics = runtime.metrics
      let server = runtime.server
      let audit = runtime.audit
      metricsServer = MetricsServer(host: host, port: port, allowNonLoopback: config.metricsAllowNonLoopback, render: {
        metrics.setInFlight(server.inFlight)
        metrics.setAuditWriteFailures(audit.statistics.failedEvents)
        return metrics.render(circuits: router.health.snapshot(now: router.clock.now()),
                              budgets: fleet?.snapshotNow(wallMillis: router.clock.wallMillis())
                                ?? ledger.memory.snapshotNow(wallMillis: router.clock.wallMillis()))
      }, logger: runtime.logger)
    }
    let ms = metricsServer
    do {
    try await withGracefulShutdownHandler {
      try await withThrowingTaskGroup(of: Void.self) { group in
        if let fleetService = runtime.fleetService {
          // The pool runs first; the schema is migrated before the socket serves
          // (a database that is down leaves the sidecar serving per on_unavailable).
          group.addTask { await fleetService.run() }
          await fleetService.ledger.start(nowMillis: SystemClock().wallMillis())
        }
        group.addTask { try await runtime.server.run() }
        if let ms { group.addTask { try await ms.run() } }
        group.addTask {
          // SIGHUP: reload the config file.
          for await _ in await UnixSignalsSequence(trapping: .sighup) {
            _ = runtime.reload(trigger: "sighup")
          }
        }
        group.addTask {
          // Retention, hourly.
          while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3600))
            let c = runtime.configuration.audit
            _ = try? await runtime.audit.prune(now: SystemClock().wallMillis(), maxAgeDays: c.retentionDays, maxRows: c.retentionMaxRows)
          }
        }
        // The socket server returning (drained) ends the daemon.
        try await group.next()
        // The drained calls' settles that could not be written yet get one more try.
        await runtime.fleet?.flush()
        group.cancelAll()
        ms?.shutdown()
      }
    } onGracefulShutdown: {
      runtime.logger.notice("shutting down: draining in-flight calls", metadata: ["calls.in_flight": .stringConvertible(runtime.server.inFlight)])
      runtime.server.beginShutdown()
    }
    } catch {
      await runtime.shutdown()
      throw error
    }
    await runtime.shutdown()
    runtime.logger.notice("stopped")
  }
}

/// Entry points shared by `switchboardd` and the CLI's in-process demo.
public enum SwitchboardDaemonMain {
  /// This build's version (`switchboardd --version`), from `SwitchboardVersion`.
  public static var version: String { SwitchboardVersion.current }

  /// Loads the config, applies `--socket`, and runs until SIGTERM/SIGINT.
  /// `strategies`: the custom strategies routes may name (`strategy: custom:NAME`);
  /// a user-built daemon passes its own. `extraServices` adds front ends built on
  /// the runtime (the HTTP endpoint); they run after the daemon service and so are
  /// shut down before it.
  public static func run(configPath: String, socketOverride: String?, logFormat: String?,
                         strategies: StrategyRegistry = .init(),
                         extraServices: (DaemonRuntime) throws -> [any Service] = { _ in [] }) async throws {
    var config = try DaemonConfiguration.load(path: configPath)
    if let s = socketOverride { config.server.path = s }
    let format = LogFormat(rawValue: logFormat ?? config.logFormat) ?? .logfmt
    let level = Logger.Level(rawValue: config.logLevel) ?? .info
    SwitchboardLogging.bootstrap(format: format, level: level, metadataProvider: RequestTracer.loggingMetadataProvider)
    let logger = Logger(label: "switchboard")
    let runtime = try await DaemonRuntime(configuration: config, configPath: configPath, socketOverridden: socketOverride != nil,
                                          strategies: strategies, logger: logger)
    let extra: [any Service]
    do { extra = try extraServices(runtime) } catch {
      await runtime.shutdown()
      throw error
    }
    let group = ServiceGroup(configuration: .init(
      services: [.init(service: SwitchboardDaemonService(runtime: runtime), successTerminationBehavior: .gracefullyShutdownGroup)]
        + extra.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0, successTerminationBehavior: .gracefullyShutdownGroup) },
      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    try await group.run()
  }
}
