import Foundation
import SwitchboardDaemon
import SwitchboardFleet
import Testing

/// `shared_state:` parsing: clear errors with key paths that never quote the URL or
/// the password; the password comes from a variable or a file, read at start.
@Suite struct SharedStateConfigTests {
  static let base = "logging: {level: error}\nproviders: {sim: {kind: simulated}}\nmodels: {sim/m: {input: 1.0, output: 2.0, context: 32000}}\nroutes: {r: {candidates: [sim/m]}}\n"

  static func issues(_ block: String) -> [String] {
    do { _ = try DaemonConfiguration.parse(yaml: Self.base + block); return [] } catch let e as ConfigError {
      return e.issues.map(\.description)
    } catch { return ["\(type(of: error))"] }
  }

  @Test func aFullBlockParses() throws {
    let c = try DaemonConfiguration.parse(yaml: Self.base + """
      shared_state:
        postgres: {url: "postgresql://sb@db.example:6543/budgets?sslmode=require", pool_size: 8, lease_ms: 20000,
                   timeout_ms: 750, maintenance_ms: 500, password_env: SB_PG_PW}
        on_unavailable: local
        local_share: 0.25
        sidecar_id: pod-a
      """)
    let s = try #require(c.sharedState)
    #expect(s.fleet.connection.host == "db.example")
    #expect(s.fleet.connection.port == 6543)
    #expect(s.fleet.connection.user == "sb")
    #expect(s.fleet.connection.database == "budgets")
    #expect(s.fleet.connection.tls == .require)
    #expect(s.fleet.poolSize == 8 && s.fleet.leaseMs == 20_000 && s.fleet.timeoutMs == 750 && s.fleet.maintenanceMs == 500)
    #expect(s.fleet.onUnavailable == .local && s.fleet.localShare == 0.25 && s.fleet.sidecarID == "pod-a")
    #expect(s.fleet.shareHealth, "shared health is on by default")
    #expect(s.passwordEnv == "SB_PG_PW")
    // The password arrives at start, from the environment; nothing prints it.
    let f = try s.resolved(environment: ["SB_PG_PW": "hunter2-secret"])
    #expect(f.connection.password?.value == "hunter2-secret")
    #expect(!"\(f.connection) \(String(describing: f.connection.password)) \(String(reflecting: f.connection.password))".contains("hunter2"))
    #expect(!"\(f.connection)".contains("db.example"))
    #expect(try DaemonConfiguration.parse(yaml: Self.base).sharedState == nil, "absent: everything local")
  }

  @Test func sharedHealthCanBeTurnedOff() throws {
    let c = try DaemonConfiguration.parse(yaml: Self.base + "shared_state: {postgres: {url: \"postgresql://u@h/d\"}, health: false}")
    #expect(c.sharedState?.fleet.shareHealth == false)
  }

  @Test func aPasswordInTheURLIsRefusedWithoutBeingEchoed() {
    let found = Self.issues("""
      shared_state:
        postgres: {url: "postgresql://sb:hunter2-secret@db.example/budgets"}
      """)
    #expect(found.count == 1)
    #expect(found.first?.contains("shared_state.postgres.url") == true)
    #expect(found.first?.contains("password_env or password_file") == true)
    #expect(!found.joined().contains("hunter2") && !found.joined().contains("db.example"))
  }

  @Test(arguments: [
    ("shared_state: {postgres: {url: \"mysql://x@h/d\"}}", "shared_state.postgres.url", "postgresql://"),
    ("shared_state: {postgres: {url: \"postgresql://h-only/d\"}}", "shared_state.postgres.url", "must name a user"),
    ("shared_state: {postgres: {url: \"postgresql://u@h/d?sslmode=maybe\"}}", "shared_state.postgres.url", "sslmode"),
    ("shared_state: {postgres: {pool_size: 2}}", "shared_state.postgres.url", "required"),
    ("shared_state: {postgres: {url: \"postgresql://u@h/d\", pool_size: 0}}", "shared_state.postgres.pool_size", "at least 1"),
    ("shared_state: {postgres: {url: \"postgresql://u@h/d\", lease_ms: 1000, maintenance_ms: 500}}", "shared_state.postgres.lease_ms", "3 × maintenance_ms"),
    ("shared_state: {postgres: {url: \"postgresql://u@h/d\", password_env: A, password_file: /f}}", "shared_state.postgres.password_file", "not both"),
    ("shared_state: {postgres: {url: \"postgresql://u@h/d\"}, local_share: 0.5}", "shared_state.local_share", "on_unavailable: local"),
    ("shared_state: {postgres: {url: \"postgresql://u@h/d\"}, on_unavailable: maybe}", "shared_state.on_unavailable", "fail_closed"),
    ("shared_state: {postgres: {url: \"postgresql://u@h/d\", passwrd_env: A}}", "shared_state.postgres.passwrd_env", "unknown key"),
    ("shared_state: {postgres: {url: \"postgresql://u@h/d\"}, health: maybe}", "shared_state.health", "true or false"),
  ])
  func badBlocksNameTheKey(_ yaml: String, _ path: String, _ text: String) {
    let found = Self.issues(yaml)
    #expect(found.contains { $0.hasPrefix(path) && $0.contains(text) }, "\(found)")
    #expect(!found.joined().contains("u@h"), "the URL is never quoted")
  }

  @Test func anUnsetPasswordVariableOrUnreadableFileStopsTheStartNamingOnlyTheKey() throws {
    let env = try #require(try DaemonConfiguration.parse(yaml: Self.base + """
      shared_state: {postgres: {url: "postgresql://u@h/d", password_env: SB_UNSET_PW}}
      """).sharedState)
    #expect(throws: ConfigError.self) { try env.resolved(environment: [:]) }
    let file = try #require(try DaemonConfiguration.parse(yaml: Self.base + """
      shared_state: {postgres: {url: "postgresql://u@h/d", password_file: /nonexistent/pw}}
      """).sharedState)
    do { _ = try file.resolved(environment: [:]); Issue.record("must fail") } catch {
      #expect("\(error)".contains("shared_state.postgres.password_file"))
      #expect(!"\(error)".contains("/nonexistent"))
    }
  }

  @Test func changingSharedStateNeedsARestart() throws {
    let a = try DaemonConfiguration.parse(yaml: Self.base + "shared_state: {postgres: {url: \"postgresql://u@h/d\"}}")
    let b = try DaemonConfiguration.parse(yaml: Self.base + "shared_state: {postgres: {url: \"postgresql://u@h2/d\"}}")
    #expect(DaemonRuntime.restartRequired(from: a, to: b).contains("shared_state"))
  }
}
