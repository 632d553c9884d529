import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import SwitchboardAudit
import SwitchboardCore
import SwitchboardFleet
import SwitchboardSimulation
import SwitchboardProviders
import SwitchboardState
import SwitchboardWire

/// Everything a running daemon holds: the router, the audit store, metrics, the
/// socket server. Built from a `DaemonConfiguration`; `reload` swaps the
/// routing configuration without a restart.
public final class DaemonRuntime: Sendable {
  public let router: Router
  public let audit: AuditStore
  public let metrics: SwitchboardMetrics
  /// Metrics and decision logs, shared by every front end.
  public let recorder: DecisionRecorder
  public let server: UnixSocketServer
  public let logger: Logger
  let httpClient: HTTPClient
  /// Serves the plain-HTTP providers (nil when `SWITCHBOARD_PROVIDER_HTTP_CLIENT=asynchttpclient`).
  let leanClient: LeanHTTPClient?
  let startedAt = ContinuousClock.now
  /// The spend ledger (its own SQLite store).
  public let ledger: SQLiteBudgetLedger
  /// The fleet's shared ledger (`shared_state:`), which then answers every
  /// reservation instead of ``ledger``; nil without a fleet.
  public let fleet: FleetBudgetLedger?
  /// Its maintenance service (run by the daemon service before the socket serves).
  public let fleetService: FleetService?
  /// The custom strategies this daemon binary offers (`strategy: custom:NAME`).
  let strategies: StrategyRegistry
  /// Request and attempt spans, OTLP export (`tracing:`); ``RequestTracer/off`` by default.
  public let tracer: RequestTracer
  private let state: Mutex<State>

  struct State: Sendable {
    var configuration: DaemonConfiguration
    var configPath: String?
    /// The socket path came from `--socket`, not the file: reloads keep it.
    var socketOverridden: Bool
  }

  /// The configuration in force.
  public var configuration: DaemonConfiguration { state.withLock { $0.configuration } }

  /// Builds the runtime (opens the audit store and the ledger). A ledger that cannot
  /// be opened or loaded is a startup error (``LedgerStoreError``): spend must never
  /// silently reset.
  public init(configuration: DaemonConfiguration, configPath: String?, socketOverridden: Bool = false,
              environment: [String: String] = ProcessInfo.processInfo.environment, strategies: StrategyRegistry = .init(),
              logger: Logger) async throws {
    self.logger = logger
    self.strategies = strategies
    self.tracer = try RequestTracer.make(configuration.tracing, logger: logger)
    // One connection per admitted call at most: the pool never queues calls the daemon accepted.
    let perHost = min(1024, max(8, configuration.server.maxInFlight))
    self.httpClient = HTTPClient(eventLoopGroupProvider: .singleton,
                                 configuration: HTTPProviderAdapterDefaults.clientConfiguration(maxConnectionsPerHost: perHost))
    self.leanClient = Self.makeLeanClient(environment: environment, group: httpClient.eventLoopGroup, perHost: perHost)
    self.metrics = SwitchboardMetrics()
    let clock = SystemClock()
    do {
      self.audit = try AuditStore(configuration: AuditStoreConfiguration(path: configuration.audit.path,
                                                                         durableResponses: configuration.audit.durableResponses,
                                                                         batchMax: configuration.audit.batchMax,
                                                                         memoryBudgetBytes: min(configuration.audit.memoryBudgetMB, 1 << 20) << 20),
                                  logger: logger)
    } catch {
      try? await httpClient.shutdown()
      await leanClient?.shutdown()
      throw error
    }
    let now = clock.wallMillis()
    do {
      let calendar = BudgetCalendar(timeZone: configuration.budgets.timeZone) ?? .utc
      self.ledger = try SQLiteBudgetLedger(path: configuration.resolvedLedgerPath, calendar: calendar, wallMillis: now,
                                        fullSync: configuration.ledgerFullSync, logger: logger)
    } catch {
      logger.critical("cannot start: budget ledger unavailable", metadata: ["error": "\(error)"])
      await audit.close()
      try? await httpClient.shutdown()
      await leanClient?.shutdown()
      throw error
    }
    var fleetHealth: PostgresHealthStore?
    if let shared = configuration.sharedState {
      do {
        let f = try shared.resolved(environment: environment)
        let calendar = BudgetCalendar(timeZone: configuration.budgets.timeZone) ?? .utc
        let sidecar = f.sidecarID ?? Self.defaultSidecarID()
        let pg = PostgresBudgetLedger(configuration: f, sidecarID: sidecar, calendar: calendar, logger: logger)
        let fleet = FleetBudgetLedger(shared: pg, onUnavailable: f.onUnavailable, localShare: f.localShare, logger: logger)
        self.fleet = fleet
        fleetHealth = f.shareHealth ? PostgresHealthStore(shared: pg, probeLeaseMs: f.leaseMs, logger: logger) : nil
        self.fleetService = FleetService(ledger: fleet, interval: .milliseconds(f.maintenanceMs), health: fleetHealth)
        logger.notice("fleet ledger configured", metadata: [
          "fleet.sidecar_id": "\(sidecar)", "fleet.on_unavailable": "\(f.onUnavailable.rawValue)", "fleet.lease_ms": "\(f.leaseMs)",
          "fleet.health": "\(f.shareHealth ? "shared" : "local")"])
      } catch {
        logger.critical("cannot start: shared_state", metadata: ["error": "\(error)"])
        await audit.close()
        try? await httpClient.shutdown()
        throw error
      }
    } else {
      self.fleet = nil
      self.fleetService = nil
    }
    if ledger.loadReport.releasedReservations > 0 {
      logger.notice("released reservations of a process that died", metadata: [
        "ledger.released": .stringConvertible(ledger.loadReport.releasedReservations),
        "ledger.released_usd": .stringConvertible(LogUSD(ledger.loadReport.releasedAmount.usd))])
    }
    _ = try? await audit.prune(now: now, maxAgeDays: configuration.audit.retentionDays, maxRows: configuration.audit.retentionMaxRows)
    let built: (RouterConfiguration, [String: ProviderKeySettings])
    do {
      built = try Self.routerConfiguration(configuration, httpClient: httpClient, leanClient: leanClient, strategies: strategies, logger: logger)
    } catch {
      await audit.close()
      try? await httpClient.shutdown()
      await leanClient?.shutdown()
      throw error
    }
    let dotenv = Self.loadDotenv(configuration.dotenvPath)
    let keys = KeyResolver(settings: built.1, environment: environment, dotenv: dotenv)
    self.router = Router(configuration: built.0, keys: keys, ledger: fleet ?? ledger, audit: audit, clock: clock)
    fleetHealth?.attach(router.health, clock: clock)
    self.state = Mutex(State(configuration: configuration, configPath: configPath, socketOverridden: socketOverridden))
    let adminRef = RuntimeReference()
    self.recorder = DecisionRecorder(metrics: metrics, logger: logger)
    let handler = DaemonHandler(router: router, audit: audit, recorder: recorder, runtime: adminRef, tracer: tracer)
    self.server = UnixSocketServer(configuration: configuration.server, handler: handler, logger: logger,
                                   observer: ServerMetricsObserver(metrics: metrics))
    metrics.setLabelDomain(SwitchboardMetrics.LabelDomain(configuration))
    adminRef.set(self)
    let adapters = built.0.adapters
    StartupSummary.log(StartupSummary.lines(configuration: configuration, configPath: configPath, keySettings: built.1, keys: keys,
                                            requiresKey: { adapters[$0]?.requiresKey ?? false }, environment: environment,
                                            dotenv: dotenv), to: logger)
  }

  /// Releases the HTTP client and closes the audit store (after the server has drained).
  public func shutdown() async {
    router.cleanupStrategies()
    await audit.close()
    try? await httpClient.shutdown()
    await leanClient?.shutdown()
    // After the drain: the last requests' spans are exported before the exporter stops.
    await tracer.shutdown()
  }

  /// The lean HTTP/1.1 client for `http://` and `https://` providers, unless the environment asks
  /// for AsyncHTTPClient everywhere (`SWITCHBOARD_PROVIDER_HTTP_CLIENT=asynchttpclient`,
  /// for A/B benchmarks and as an escape hatch).
  static func makeLeanClient(environment: [String: String], group: any EventLoopGroup, perHost: Int) -> LeanHTTPClient? {
    if environment["SWITCHBOARD_PROVIDER_HTTP_CLIENT"]?.lowercased() == "asynchttpclient" { return nil }
    return LeanHTTPClient(eventLoopGroup: group, configuration: .init(maxConnectionsPerHost: perHost))
  }

  /// Re-reads the config file the daemon was started with, validates it and
  /// swaps it in. In-flight calls finish under the policy they started with. The
  /// socket server's access, admin rights, limits, mode and group apply at once;
  /// settings that need a restart (socket path, metrics listener, audit store,
  /// logging, the partial-frame budget) are refused by name, never silently kept.
  /// Emits `switchboard_config_reloads_total` and one log line either way.
  public func reload(trigger: String = "admin") -> (applied: Bool, errors: [String], digest: String) {
    let current = state.withLock { $0 }
    guard let file = current.configPath else {
      return finishReload(trigger: trigger, file: nil, applied: false, errors: ["the daemon was started without a config file"],
                          digest: current.configuration.digest)
    }
    do {
      var next = try DaemonConfiguration.load(path: file)
      if current.socketOverridden { next.server.path = current.configuration.server.path }
      let restart = Self.restartRequired(from: current.configuration, to: next)
      if !restart.isEmpty {
        return finishReload(trigger: trigger, file: file, applied: false,
                            errors: restart.map { "\($0) cannot change on reload (restart the daemon)" }, digest: current.configuration.digest)
      }
      let built = try Self.routerConfiguration(next, httpClient: httpClient, leanClient: leanClient, strategies: strategies, logger: logger)
      try server.update(next.server)
      router.keys.reload(settings: built.1, environment: ProcessInfo.processInfo.environment, dotenv: Self.loadDotenv(next.dotenvPath))
      router.reload(built.0)
      metrics.setLabelDomain(SwitchboardMetrics.LabelDomain(next))
      state.withLock { $0.configuration = next }
      return finishReload(trigger: trigger, file: file, applied: true, errors: [], digest: next.digest)
    } catch let e as ConfigError {
      return finishReload(trigger: trigger, file: file, applied: false, errors: e.issues.map(\.description), digest: current.configuration.digest)
    } catch {
      return finishReload(trigger: trigger, file: file, applied: false, errors: ["cannot apply the configuration (\(type(of: error)))"],
                          digest: current.configuration.digest)
    }
  }

  private func finishReload(trigger: String, file: String?, applied: Bool, errors: [String], digest: String)
    -> (applied: Bool, errors: [String], digest: String)
  {
    metrics.reloaded(applied: applied)
    var md: Logger.Metadata = ["reload.trigger": "\(trigger)", "config.digest": "\(digest)"]
    if let file { md["config.path"] = "\(file)" }
    if applied {
      logger.notice("configuration reloaded", metadata: md)
    } else {
      md["errors"] = .stringConvertible(errors.count)
      logger.error("reload rejected; keeping the running configuration", metadata: md)
      for e in errors { logger.error("reload error", metadata: ["error": "\(e)"]) }
    }
    return (applied, errors, digest)
  }

  /// Keys whose change a reload cannot apply.
  public static func restartRequired(from a: DaemonConfiguration, to b: DaemonConfiguration) -> [String] {
    var out: [String] = []
    if a.server.path != b.server.path { out.append("listen.socket") }
    if a.server.maxInboundBufferBytes != b.server.maxInboundBufferBytes { out.append("listen.max_inbound_buffer_bytes") }
    if a.metricsListen != b.metricsListen { out.append("metrics.listen") }
    if a.metricsAllowNonLoopback != b.metricsAllowNonLoopback { out.append("metrics.allow_non_loopback") }
    if a.audit.path != b.audit.path { out.append("audit.path") }
    if a.audit.durableResponses != b.audit.durableResponses { out.append("audit.durable_responses") }
    if a.audit.batchMax != b.audit.batchMax { out.append("audit.batch_max") }
    if a.logFormat != b.logFormat { out.append("logging.format") }
    if a.logLevel != b.logLevel { out.append("logging.level") }
    if a.http != b.http { out.append("http") }
    if a.tracing != b.tracing { out.append("tracing") }
    // The ledger is opened once, in its time zone: spend periods cannot move under it.
    if a.budgets.timeZone != b.budgets.timeZone { out.append("budgets.time_zone") }
    if a.resolvedLedgerPath != b.resolvedLedgerPath { out.append("budgets.ledger_path") }
    if a.ledgerFullSync != b.ledgerFullSync { out.append("budgets.ledger_sync") }
    if a.sharedState != b.sharedState { out.append("shared_state") }
    return out
  }

  /// Builds the core's configuration: adapters, catalog, routes, key settings.
  static func routerConfiguration(_ c: DaemonConfiguration, httpClient: HTTPClient, leanClient: LeanHTTPClient? = nil, strategies: StrategyRegistry = .init(),
                                  logger: Logger) throws -> (RouterConfiguration, [String: ProviderKeySettings])
  {
    let bundled = (try? ModelCatalogLoader.loadBundled()) ?? [:]
    var catalog = ModelCatalog(vendorEntries: bundled, overrides: c.models, vendorOf: [:])
    var adapters: [String: any ProviderAdapter] = [:]
    var keySettings: [String: ProviderKeySettings] = [:]
    var issues: [ConfigIssue] = []
    for (name, p) in c.providers {
      switch p.kind {
      case .simulated:
        adapters[name] = RequestTracer.instrument(SimulatedProvider(name: name, configuration: p.simulated))
        catalog.vendorOf[name] = name
      case .openai, .anthropic:
        var extraCA: String?
        if let file = p.caFile {
          // Read at each build (start and reload), so a rotated CA file takes effect on reload.
          guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            issues.append(ConfigIssue(path: "providers.\(name).ca_file", line: p.line, message: "cannot read the CA file"))
            continue
          }
          extraCA = text
        }
        let settings = HTTPProviderSettings(preset: p.preset, baseURL: p.baseURL, headers: p.headers, apiVersion: p.apiVersion,
                                            keyEnvironmentVariable: p.apiKeyEnv, catalog: catalog, extraCAPEM: extraCA)
        do {
          let adapter = try ProviderFactory.make(name: name, kind: p.kind.rawValue, settings: settings, httpClient: httpClient,
                                                    leanClient: leanClient, logger: logger)
          adapters[name] = RequestTracer.instrument(adapter)
          catalog.vendorOf[name] = ProviderFactory.vendor(name: name, kind: p.kind.rawValue, settings: settings) ?? name
        } catch {
          issues.append(ConfigIssue(path: "providers.\(name)", line: p.line, message: Self.describe(error)))
          continue
        }
      }
      keySettings[name] = ProviderKeySettings(pool: p.keys, environmentVariable: p.apiKeyEnv ?? adapters[name]?.conventionalKeyEnvironmentVariable)
    }
    var routes = c.routes
    for (name, route) in c.routes.sorted(by: { $0.key < $1.key }) {
      guard let custom = route.customStrategyName else { continue }
      let setup = StrategySetup(route: name, candidates: route.candidates.map(\.ref), seed: route.seed)
      do {
        guard let strategy = try strategies.make(custom, setup: setup) else {
          let known = strategies.names.isEmpty ? "this daemon registers none" : "registered: " + strategies.names.joined(separator: ", ")
          issues.append(ConfigIssue(path: "routes.\(name).strategy", line: nil, message: "names a custom strategy this daemon does not register; \(known)"))
          continue
        }
        routes[name]?.customStrategy = strategy
      } catch {
        issues.append(ConfigIssue(path: "routes.\(name).strategy", line: nil, message: "the custom strategy failed to start (\(type(of: error)))"))
      }
    }
    if !issues.isEmpty {
      for r in routes.values { r.customStrategy?.cleanup() }
      throw ConfigError(issues: issues)
    }
    let config = RouterConfiguration(routes: routes, adapters: adapters, catalog: catalog, circuit: c.circuit,
                                     retryBudget: c.retryBudget, digest: c.digest, budgets: c.budgets)
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

  /// This sidecar's default lease name: host, pid and a random suffix (a restarted
  /// sidecar never renews the leases of its previous life).
  static func defaultSidecarID() -> String {
    let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
    return "\(host.prefix(64))-\(getpid())-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
  }

  /// Uptime.
  var uptime: Duration { ContinuousClock.now - startedAt }
}

extension DaemonRuntime {
  /// A provider construction error as a config issue message: a fixed text per
  /// error code (the error's own message may quote the configured value).
  static func describe(_ error: any Error) -> String {
    guard let e = error as? ProviderConfigurationError else { return "cannot build the provider (\(type(of: error)))" }
    switch e.code {
    case .missingBaseURL: return "base_url is required for this kind/preset (it has no default endpoint)"
    case .invalidBaseURL: return "base_url is not a usable http(s) URL"
    case .unknownPreset: return "unknown preset"
    case .unknownKind: return "unknown kind"
    default: return "cannot build the provider (\(e.code))"
    }
  }
}

/// Feeds the socket server's refusals into `switchboard_frames_rejected_total`.
struct ServerMetricsObserver: UnixSocketServerObserver {
  let metrics: SwitchboardMetrics
  func frameRejected(reason: String) { metrics.frameRejected(reason: reason) }
}

/// The runtime as admin calls see it: set once after init; a weak reference so
/// tests that start many daemons do not leak them. Only admin calls touch it.
final class RuntimeReference: Sendable {
  private struct Weak: @unchecked Sendable { weak var value: DaemonRuntime? }
  private let ref = Mutex(Weak())
  func set(_ r: DaemonRuntime) { ref.withLock { $0.value = r } }
  var runtime: DaemonRuntime? { ref.withLock { $0.value } }
}
