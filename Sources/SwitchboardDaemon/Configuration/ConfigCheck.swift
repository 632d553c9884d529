import AsyncHTTPClient
import Foundation
import Logging
import SwitchboardCore
import SwitchboardProviders

/// Validates a config file exactly as the daemon would load it: the same parser,
/// and the same adapter construction (`DaemonRuntime.routerConfiguration`), so a
/// file that passes is one the daemon starts with.
public enum ConfigCheck {
  /// Checks the file at `path`.
  public static func run(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) async -> ConfigCheckReport {
    var report = ConfigCheckReport()
    let c: DaemonConfiguration
    do { c = try DaemonConfiguration.load(path: path) } catch let e as ConfigError {
      report.errors = e.issues
      return report
    } catch {
      report.errors = [ConfigIssue(path: "(file)", line: nil, message: "cannot be loaded (\(type(of: error)))")]
      return report
    }
    let logger = Logger(label: "switchboard.config-check", factory: { _ in SwiftLogNoOpLogHandler() })
    let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPProviderAdapterDefaults.clientConfiguration())
    let built: (RouterConfiguration, [String: ProviderKeySettings])
    do {
      built = try DaemonRuntime.routerConfiguration(c, httpClient: http, logger: logger)
      try? await http.shutdown()
    } catch let e as ConfigError {
      try? await http.shutdown()
      report.errors = e.issues
      return report
    } catch {
      try? await http.shutdown()
      report.errors = [ConfigIssue(path: "providers", line: nil, message: DaemonRuntime.describe(error))]
      return report
    }
    report.configuration = c
    report.warnings = warnings(c, built.0, built.1, environment: environment, dotenv: DaemonRuntime.loadDotenv(c.dotenvPath))
    return report
  }

  static func warnings(_ c: DaemonConfiguration, _ router: RouterConfiguration, _ keys: [String: ProviderKeySettings],
                       environment: [String: String], dotenv: [String: String]) -> [ConfigIssue] {
    var out: [ConfigIssue] = []
    let resolver = KeyResolver(settings: keys, environment: environment, dotenv: dotenv)
    func isSet(_ name: String) -> Bool { environment[name]?.isEmpty == false || dotenv[name]?.isEmpty == false }
    for name in c.providers.keys.sorted() {
      guard let p = c.providers[name], p.kind != .simulated, let adapter = router.adapters[name] else { continue }
      for (i, ref) in p.keys.enumerated() {
        if case .environment(let v) = ref, !isSet(v) {
          out.append(ConfigIssue(path: "providers.\(name).keys[\(i)].env", line: p.line, message: "environment variable \(v) is unset"))
        }
      }
      if adapter.requiresKey && resolver.keys(for: name).isEmpty {
        let variable = keys[name]?.environmentVariable
        let why = variable.map { "no key: environment variable \($0) is unset" } ?? "no key configured"
        out.append(ConfigIssue(path: "providers.\(name)", line: p.line, message: why + " (requests fail until one is set)"))
      }
    }
    for routeName in c.routes.keys.sorted() {
      guard let route = c.routes[routeName], route.constraints.maxCostUSD != nil else { continue }
      for (i, spec) in route.candidates.enumerated() {
        let info = router.catalog.info(for: spec.ref)
        if info?.inputPerMillion == nil || info?.outputPerMillion == nil {
          out.append(ConfigIssue(path: "routes.\(routeName).candidates[\(i)]", line: nil,
                                 message: "model has no known price, so constraints.max_cost_usd cannot bound it"
                                   + (route.constraints.requireKnownPrices ? " (it is skipped: require_known_prices)" : "")))
        }
      }
    }
    return out
  }
}
