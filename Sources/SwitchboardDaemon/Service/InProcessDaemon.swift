import Foundation
import Logging
import ServiceLifecycle
import SwitchboardCore

/// A daemon started inside the current process (the CLI's demo and bench, tests):
/// the same runtime and service as `switchboardd`, without signal handling.
public final class InProcessDaemon: Sendable {
  public let runtime: DaemonRuntime
  private let group: ServiceGroup
  private let task: Task<Void, any Error>

  private init(runtime: DaemonRuntime, group: ServiceGroup, task: Task<Void, any Error>) {
    self.runtime = runtime; self.group = group; self.task = task
  }

  /// Starts a daemon from YAML text on `socketPath` and waits until it listens.
  public static func start(yaml: String, socketPath: String, configPath: String? = nil,
                           environment: [String: String] = ProcessInfo.processInfo.environment,
                           strategies: StrategyRegistry = .init(),
                           logger: Logger = Logger(label: "switchboard", factory: { _ in SwiftLogNoOpLogHandler() })) async throws -> InProcessDaemon {
    var config = try DaemonConfiguration.parse(yaml: yaml)
    config.server.path = socketPath
    let runtime = try await DaemonRuntime(configuration: config, configPath: configPath, socketOverridden: true, environment: environment,
                                          strategies: strategies, logger: logger)
    let group = ServiceGroup(configuration: .init(
      services: [.init(service: SwitchboardDaemonService(runtime: runtime), successTerminationBehavior: .gracefullyShutdownGroup)],
      gracefulShutdownSignals: [], logger: logger))
    let task = Task { try await group.run() }
    do {
      try await runtime.server.waitUntilListening()
    } catch {
      _ = try? await task.value
      throw error
    }
    return InProcessDaemon(runtime: runtime, group: group, task: task)
  }

  /// Drains and stops; returns when the socket is gone and the audit store flushed.
  public func stop() async {
    await group.triggerGracefulShutdown()
    _ = try? await task.value
  }
}
