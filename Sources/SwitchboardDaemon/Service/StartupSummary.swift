import Logging
import SwitchboardCore
import SwitchboardWire

/// What the daemon logs once at start: one line with the version, config digest
/// and counts; one per provider with where its keys come from (source and
/// fingerprints, never a key); a warning per key environment variable that is not
/// set (naming the variable, never a value); one per route. The listeners log
/// their own line when they are bound (`listening`, `http listening`, `metrics
/// server listening`, each with `listener=`).
///
/// Pure: ``lines(configuration:configPath:keySettings:keys:requiresKey:environment:dotenv:)``
/// builds the lines, ``log(_:to:)`` writes them.
public enum StartupSummary {
  /// One log line.
  public struct Line: Sendable {
    /// Its level.
    public var level: Logger.Level
    /// Its message.
    public var message: String
    /// Its metadata.
    public var metadata: Logger.Metadata
  }

  /// The summary of a daemon about to serve `configuration`.
  ///
  /// - Parameters:
  ///   - keySettings: Each provider's key settings (pool, environment variable).
  ///   - keys: The resolver the router uses (its pools are what requests will get).
  ///   - requiresKey: Whether a provider's adapter needs a key to be called at all.
  ///   - environment: The process environment the resolver read.
  ///   - dotenv: The `.env` file's variables.
  public static func lines(configuration c: DaemonConfiguration, configPath: String?, keySettings: [String: ProviderKeySettings],
                           keys: KeyResolver, requiresKey: (String) -> Bool, environment: [String: String],
                           dotenv: [String: String]) -> [Line] {
    var out: [Line] = []
    var start: Logger.Metadata = [
      "version": "\(SwitchboardVersion.current)", "config.digest": "\(c.digest)",
      "providers": .stringConvertible(c.providers.count), "routes": .stringConvertible(c.routes.count),
      "audit.store": "\(c.audit.path.isEmpty ? "memory" : c.audit.path)",
      "socket.path": "\(c.server.path)",
      "executor": "\(ConcurrencyExecutor.running.rawValue)",
    ]
    if let configPath { start["config.path"] = "\(configPath)" }
    out.append(Line(level: .notice, message: "starting", metadata: start))

    for name in c.providers.keys.sorted() {
      guard let p = c.providers[name] else { continue }
      let pool = keys.keys(for: name)
      var md: Logger.Metadata = [
        "provider.name": "\(name)", "provider.kind": "\(p.kind.rawValue)",
        "key.source": "\(pool.first?.source.rawValue ?? KeySource.none.rawValue)",
        "key.fingerprint": "\(pool.isEmpty ? "none" : pool.map(\.fingerprint).joined(separator: ","))",
        "pool.size": .stringConvertible(pool.count),
      ]
      if let preset = p.preset { md["provider.preset"] = "\(preset)" }
      out.append(Line(level: .notice, message: "provider", metadata: md))
      let settings = keySettings[name] ?? ProviderKeySettings()
      for variable in missingVariables(settings, environment: environment, dotenv: dotenv, requiresKey: requiresKey(name)) {
        out.append(Line(level: .warning, message: "api key environment variable not set",
                        metadata: ["provider.name": "\(name)", "env.name": "\(variable)"]))
      }
      if pool.isEmpty && requiresKey(name) && settings.pool.isEmpty && settings.environmentVariable == nil {
        out.append(Line(level: .warning, message: "provider has no api key configured",
                        metadata: ["provider.name": "\(name)"]))
      }
    }
    for name in c.routes.keys.sorted() {
      guard let r = c.routes[name] else { continue }
      out.append(Line(level: .notice, message: "route", metadata: [
        "route.name": "\(name)", "route.strategy": "\(r.customStrategyName.map { "custom:\($0)" } ?? r.strategy.rawValue)",
        "route.candidates": "\(r.candidates.map(\.ref.description).joined(separator: ","))",
      ]))
    }
    return out
  }

  /// The environment variables a provider's keys name that neither the environment
  /// nor `.env` sets. The fallback variable (`api_key_env` or the conventional
  /// one) counts only when the pool is empty and the provider needs a key.
  static func missingVariables(_ s: ProviderKeySettings, environment: [String: String], dotenv: [String: String],
                               requiresKey: Bool) -> [String] {
    func isSet(_ name: String) -> Bool { !(environment[name] ?? "").isEmpty || !(dotenv[name] ?? "").isEmpty }
    if !s.pool.isEmpty {
      return s.pool.compactMap { ref in
        if case .environment(let name) = ref, !isSet(name) { return name }
        return nil
      }
    }
    if requiresKey, let name = s.environmentVariable, !isSet(name) { return [name] }
    return []
  }

  /// Writes `lines` to `logger`.
  public static func log(_ lines: [Line], to logger: Logger) {
    for l in lines { logger.log(level: l.level, "\(l.message)", metadata: l.metadata) }
  }
}
