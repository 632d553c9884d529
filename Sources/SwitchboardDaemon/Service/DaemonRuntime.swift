import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import SwitchboardAudit
import SwitchboardCore
import SwitchboardProviders
import SwitchboardWire

/// Everything a running daemon holds: the router, the audit store, metrics, the
/// socket server. Built from a `DaemonConfiguration`; `reload` swaps the
/// routing configuration without a restart.
public final class DaemonRuntime: Sendable {
  public let router: Router
  public let audit: AuditStore
  public let metrics: SwitchboardMetrics
  public let server: UnixSocketServer
  public let logger: Logger
  let httpClient: HTTPClient
  let startedAt = ContinuousClock.now
  let ledger: InMemoryBudgetLedger
  private let state: Mutex<State>

  struct State: Sendable {
    var configuration: DaemonConfiguration
    var configPath: String?
    /// The socket path came from `--socket`, not the file: reloads keep it.
    var socketOverridden: Bool
  }

  /// The configuration in force.
  public var configuration: DaemonConfiguration { state.withLock { $0.configuration } }

  /// Builds the runtime (opens the audit store, reloads today's spend).
  public init(configuration: DaemonConfiguration, configPath: String?, socketOverridden: Bool = false,
              environment: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) async throws {
    self.logger = logger
    self.httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPProviderAdapterDefaults.clientConfiguration())
    self.metrics = SwitchboardMetrics()
    self.ledger = InMemoryBudgetLedger()
    let clock = SystemClock()
    do {
      self.audit = try AuditStore(configuration: AuditStoreConfiguration(path: configuration.audit.path,
                                                                         durableResponses: configuration.audit.durableResponses,
                                                                         batchMax: configuration.audit.batchMax,
                                                                         memoryBudgetBytes: min(configuration.audit.memoryBudgetMB, 1 << 20) << 20),
                                  logger: logger)
    } catch {
      try? await httpClient.shutdown()
      throw error
    }
    let now = clock.wallMillis()
    if let spent = try? await audit.spentToday(wallMillis: now) {
      ledger.load(spent: spent, day: AuditStore.day(ofWallMillis: now))
    }
    _ = try? await audit.prune(now: now, maxAgeDays: configuration.audit.retentionDays, maxRows: configuration.audit.retentionMaxRows)
    let built: (RouterConfiguration, [String: ProviderKeySettings])
    do {
      built = try Self.routerConfiguration(configuration, httpClient: httpClient, logger: logger)
    } catch {
      await audit.close()
      try? await httpClient.shutdown()
      throw error
    }
    let dotenv = Self.loadDotenv(configuration.dotenvPath)
    let keys = KeyResolver(settings: built.1, environment: environment, dotenv: dotenv)
    self.router = Router(configuration: built.0, keys: keys, ledger: ledger, audit: audit, clock: clock)
    self.state = Mutex(State(configuration: configuration, configPath: configPath, socketOverridden: socketOverridden))
    let adminRef = RuntimeReference()
    let handler = DaemonHandler(router: router, audit: audit, metrics: metrics, logger: logger, runtime: adminRef)
    self.server = UnixSocketServer(configuration: configuration.server, handler: handler, logger: logger)
    adminRef.set(self)
  }

  /// Releases the HTTP client and closes the audit store (after the server has drained).
  public func shutdown() async {
    await audit.close()
    try? await httpClient.shutdown()
  }

  /// Re-reads the config file (or `path`), validates it and swaps it in. In-flight
  /// calls finish under the policy they started with. Returns the errors when the
  /// new file is invalid (the running config is kept).
  public func reload(path: String? = nil) -> (applied: Bool, errors: [String], digest: String) {
    let current = state.withLock { $0 }
    guard let file = (path?.isEmpty == false ? path : nil) ?? current.configPath else {
      return (false, ["the daemon was started without a config file"], current.configuration.digest)
    }
    do {
      var next = try DaemonConfiguration.load(path: file)
      if current.socketOverridden { next.server.path = current.configuration.server.path }
      if next.server.path != current.configuration.server.path {
        return (false, ["listen.socket cannot change on reload (restart the daemon)"], current.configuration.digest)
      }
      let built = try Self.routerConfiguration(next, httpClient: httpClient, logger: logger)
      router.keys.reload(settings: built.1, environment: ProcessInfo.processInfo.environment, dotenv: Self.loadDotenv(next.dotenvPath))
      router.reload(built.0)
      state.withLock { $0.configuration = next; $0.configPath = file }
      logger.notice("configuration reloaded", metadata: ["config.path": "\(file)", "config.digest": "\(next.digest)"])
      return (true, [], next.digest)
    } catch let e as ConfigError {
      logger.error("reload rejected; keeping the running configuration", metadata: ["config.path": "\(file)", "errors": "\(e.issues.count)"])
      return (false, e.issues.map(\.description), current.configuration.digest)
    } catch {
      return (false, ["\(error)"], current.configuration.digest)
    }
  }

  /// Builds the core's configuration: adapters, catalog, routes, key settings.
  static func routerConfiguration(_ c: DaemonConfiguration, httpClient: HTTPClient, logger: Logger) throws
    -> (RouterConfiguration, [String: ProviderKeySettings])
  {
    let bundled = (try? ModelCatalogLoader.loadBundled()) ?? [:]
    var catalog = ModelCatalog(vendorEntries: bundled, instanceEntries: c.models, vendorOf: [:])
    var adapters: [String: any ProviderAdapter] = [:]
    var keySettings: [String: ProviderKeySettings] = [:]
    var issues: [ConfigIssue] = []
    for (name, p) in c.providers {
      switch p.kind {
      case .simulated:
        adapters[name] = SimulatedProvider(name: name, configuration: p.simulated)
        catalog.vendorOf[name] = name
      case .openai, .anthropic:
        let settings = HTTPProviderSettings(preset: p.preset, baseURL: p.baseURL, headers: p.headers, apiVersion: p.apiVersion,
                                            keyEnvironmentVariable: p.apiKeyEnv, catalog: catalog)
        do {
          let adapter = try ProviderFactory.make(name: name, kind: p.kind.rawValue, settings: settings, httpClient: httpClient, logger: logger)
          adapters[name] = adapter
          catalog.vendorOf[name] = ProviderFactory.vendor(name: name, kind: p.kind.rawValue, settings: settings) ?? name
        } catch {
          issues.append(ConfigIssue(path: "providers.\(name)", line: nil, message: "\(error)"))
          continue
        }
      }
      keySettings[name] = ProviderKeySettings(pool: p.keys, environmentVariable: p.apiKeyEnv ?? adapters[name]?.conventionalKeyEnvironmentVariable)
    }
    if !issues.isEmpty { throw ConfigError(issues: issues) }
    let config = RouterConfiguration(routes: c.routes, adapters: adapters, catalog: catalog, circuit: c.circuit, digest: c.digest)
    return (config, keySettings)
  }

  /// Parses a `.env` file (KEY=VALUE lines, `#` comments, optional quotes, `export`).
  static func loadDotenv(_ path: String) -> [String: String] {
    guard !path.isEmpty, let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
    var out: [String: String] = [:]
    for raw in text.split(whereSeparator: \.isNewline) {
      var line = raw.trimmingCharacters(in: .whitespaces)
      if line.isEmpty || line.hasPrefix("#") { continue }
      if line.hasPrefix("export ") { line = String(line.dropFirst(7)) }
      guard let eq = line.firstIndex(of: "=") else { continue }
      let key = line[..<eq].trimmingCharacters(in: .whitespaces)
      var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
      if value.count >= 2, let f = value.first, f == "\"" || f == "'", value.last == f { value = String(value.dropFirst().dropLast()) }
      out[key] = value
    }
    return out
  }

  /// Uptime.
  var uptime: Duration { ContinuousClock.now - startedAt }
}

/// The runtime as admin calls see it: set once after init; a weak reference so
/// tests that start many daemons do not leak them. Only admin calls touch it.
final class RuntimeReference: Sendable {
  private struct Weak: @unchecked Sendable { weak var value: DaemonRuntime? }
  private let ref = Mutex(Weak())
  func set(_ r: DaemonRuntime) { ref.withLock { $0.value = r } }
  var runtime: DaemonRuntime? { ref.withLock { $0.value } }
}
