import Foundation
import Yams
import SwitchboardFleet

extension DaemonConfiguration {
  /// `shared_state: {postgres: {url, pool_size, lease_ms, timeout_ms, maintenance_ms,
  /// password_env | password_file}, on_unavailable, local_share, sidecar_id, health}`. No
  /// message quotes the URL or the password.
  static func parseSharedState(_ r: ConfigReader, _ top: [String: Node], _ c: inout DaemonConfiguration) {
    guard let node = top["shared_state"], node.null == nil else { return }
    let s = r.dict(node, "shared_state", allowed: ["postgres", "on_unavailable", "local_share", "sidecar_id", "health"])
    let pg = r.dict(s["postgres"], "shared_state.postgres",
                    allowed: ["url", "pool_size", "lease_ms", "timeout_ms", "maintenance_ms", "password_env", "password_file",
                              "synchronous_commit"])
    guard let url = r.string(pg["url"], "shared_state.postgres.url") else {
      if s["postgres"] != nil || pg.isEmpty { r.issue("shared_state.postgres.url", s["postgres"] ?? node, "is required (postgresql://USER@HOST:PORT/DB)") }
      return
    }
    var connection: PostgresConnectionSettings
    switch PostgresConnectionSettings.parse(url) {
    case .success(let v): connection = v
    case .failure(let problem):
      r.issue("shared_state.postgres.url", pg["url"], "\(problem)")
      return
    }
    connection.password = nil
    var f = SharedStateConfiguration(connection: connection)
    if let v = r.int(pg["pool_size"], "shared_state.postgres.pool_size", min: 1, max: 256) { f.poolSize = v }
    if let v = r.int(pg["lease_ms"], "shared_state.postgres.lease_ms", min: 100, max: 86_400_000) { f.leaseMs = Int64(v) }
    if let v = r.int(pg["timeout_ms"], "shared_state.postgres.timeout_ms", min: 50, max: 600_000) { f.timeoutMs = Int64(v) }
    if let v = r.int(pg["maintenance_ms"], "shared_state.postgres.maintenance_ms", min: 20, max: 600_000) { f.maintenanceMs = Int64(v) }
    if let v = r.bool(pg["synchronous_commit"], "shared_state.postgres.synchronous_commit") { f.synchronousCommit = v }
    if f.maintenanceMs * 3 > f.leaseMs {
      r.issue("shared_state.postgres.lease_ms", pg["lease_ms"] ?? pg["maintenance_ms"],
              "must be at least 3 × maintenance_ms (leases are renewed every maintenance pass)")
    }
    if let v = r.bool(s["health"], "shared_state.health") { f.shareHealth = v }
    if let v = r.oneOf(s["on_unavailable"], "shared_state.on_unavailable", SharedStateConfiguration.OnUnavailable.self) { f.onUnavailable = v }
    if let v = r.double(s["local_share"], "shared_state.local_share", min: 0, max: 1) {
      if v <= 0 { r.issue("shared_state.local_share", s["local_share"], "must be above 0 and at most 1") } else { f.localShare = v }
    }
    if s["local_share"] != nil, f.onUnavailable != .local {
      r.issue("shared_state.local_share", s["local_share"], "only applies with on_unavailable: local")
    }
    if let v = r.string(s["sidecar_id"], "shared_state.sidecar_id") {
      if v.isEmpty || v.utf8.count > 128 { r.issue("shared_state.sidecar_id", s["sidecar_id"], "must be 1-128 bytes") } else { f.sidecarID = v }
    }
    let env = r.string(pg["password_env"], "shared_state.postgres.password_env")
    let file = r.string(pg["password_file"], "shared_state.postgres.password_file")
    if env != nil && file != nil {
      r.issue("shared_state.postgres.password_file", pg["password_file"], "give password_env or password_file, not both")
    }
    if let env, env.isEmpty || env.contains("=") {
      r.issue("shared_state.postgres.password_env", pg["password_env"], "must name an environment variable")
    }
    c.sharedState = SharedStateSettings(fleet: f, passwordEnv: env, passwordFile: file)
  }
}

extension SharedStateSettings {
  /// The fleet configuration with its password read from the environment or the
  /// file. The error names the key, never the value.
  public func resolved(environment: [String: String]) throws -> SharedStateConfiguration {
    var f = fleet
    if let env = passwordEnv {
      guard let v = environment[env], !v.isEmpty else {
        throw ConfigError(issues: [ConfigIssue(path: "shared_state.postgres.password_env", line: nil,
                                               message: "the environment variable it names is not set")])
      }
      f.connection.password = .init(v)
    } else if let file = passwordFile {
      guard let text = try? String(contentsOfFile: file, encoding: .utf8),
            let line = text.split(whereSeparator: \.isNewline).first.map(String.init), !line.isEmpty else {
        throw ConfigError(issues: [ConfigIssue(path: "shared_state.postgres.password_file", line: nil,
                                               message: "cannot read a password from the file it names")])
      }
      f.connection.password = .init(line)
    }
    return f
  }
}
