import Foundation
import SwitchboardClient
import SwitchboardDaemon
import SwitchboardWire
import Testing

@Suite(.serialized) struct ConfigAndReloadTests {
  @Test func validationNamesEveryKeyPath() throws {
    let yaml = """
      listen: {socket: /tmp/x.sock, mode: "99x"}
      providers:
        a: {kind: simulated, latency_ms: {p50: 10, p99: 5}}
        b: {kind: quantum}
      routes:
        r:
          candidates: [a/m, grok/m, "nomodel"]
          strategy: fastest
          retry: {max_attempts: 0}
          budget: {per_tenant_daily_usd: {soft: 10, hard: 5}}
          timeout: {attempt_ms: 5}
      """
    do {
      _ = try DaemonConfiguration.parse(yaml: yaml)
      Issue.record("an invalid config was accepted")
    } catch let e as ConfigError {
      let paths = Set(e.issues.map(\.path))
      for p in ["listen.mode", "providers.a.latency_ms.p99", "providers.b.kind", "routes.r.candidates[1]", "routes.r.candidates[2]",
                "routes.r.strategy", "routes.r.retry.max_attempts", "routes.r.budget.per_tenant_daily_usd.soft", "routes.r.timeout"] {
        #expect(paths.contains(p), "missing issue for \(p): \(e)")
      }
      #expect(e.issues.first { $0.path == "routes.r.candidates[1]" }?.message.contains("names a provider that is not configured") == true)
      #expect(e.issues.first { $0.path == "routes.r.strategy" }?.message.contains("custom:NAME") == true)
      #expect(e.issues.allSatisfy { $0.line != nil })
    }
  }

  @Test func modelOverridesNameOnlyTheirFieldsAndPresetCustomIsAccepted() throws {
    let yaml = """
      providers:
        local: {kind: openai, preset: custom, base_url: "http://127.0.0.1:8000/v1"}
        groq: {kind: openai, preset: groq}
      models:
        groq/llama-3.3-70b-versatile: {input: 0.5}
      retry_budget: {max_tokens: 20, token_ratio: 0.2}
      routes:
        r:
          candidates: [local/m, groq/llama-3.3-70b-versatile]
          strategy: latency
          exploration: 0.1
          constraints: {latency_sla_ms: 800, sla_trial_interval_ms: 60000}
          retry: {backoff_base_ms: 50, backoff_max_ms: 400, backoff_multiplier: 3}
          timeouts: {idle_ms: 5000, keepalive_max_ms: 60000}
      """
    let c = try DaemonConfiguration.parse(yaml: yaml)
    let o = try #require(c.models.first?.value)
    #expect(o.inputPerMillion == 0.5)
    #expect(o.contextWindow == nil && o.outputPerMillion == nil && o.capabilities == nil, "unnamed fields stay unset")
    #expect(c.providers["local"]?.preset == "custom")
    #expect(c.retryBudget.maxTokens == 20 && c.retryBudget.tokenRatio == 0.2)
    let r = try #require(c.routes["r"])
    #expect(r.exploration == 0.1)
    #expect(r.constraints.slaTrialInterval == .seconds(60))
    #expect(r.retry.backoffBase == .milliseconds(50) && r.retry.backoffMax == .milliseconds(400) && r.retry.backoffMultiplier == 3)
    #expect(r.timeouts.keepAliveMax == .seconds(60))

    let bad = """
      providers:
        local: {kind: openai, preset: custom}
      retry_budget: {max_tokens: 5000}
      routes:
        r:
          candidates: [local/m]
          exploration: 2
          timeouts: {idle_ms: 5000, keepalive_max_ms: 100}
          retry: {backoff_base_ms: 500, backoff_max_ms: 100}
      """
    do {
      _ = try DaemonConfiguration.parse(yaml: bad)
      Issue.record("an invalid config was accepted")
    } catch let e as ConfigError {
      let paths = Set(e.issues.map(\.path))
      for p in ["providers.local.base_url", "retry_budget.max_tokens", "routes.r.exploration", "routes.r.timeouts.keepalive_max_ms",
                "routes.r.retry.backoff_max_ms"] {
        #expect(paths.contains(p), "missing issue for \(p): \(e)")
      }
    }
  }

  @Test func configCheckCommandPrintsErrorsAndExitsNonZero() async throws {
    let cli = TestSupport.repoRoot.appendingPathComponent(".build/debug/switchboard").path
    try #require(FileManager.default.isExecutableFile(atPath: cli))
    let dir = TestSupport.tempDir()
    try "providers: {a: {kind: simulated}}\nroutes: {r: {candidates: [zz/m]}}\n".write(toFile: dir + "/bad.yaml", atomically: true, encoding: .utf8)
    let (status, out) = try await TestSupport.run(cli, ["config", "check", dir + "/bad.yaml"])
    #expect(status == 2)
    #expect(out.contains("routes.r.candidates[0]"))
    try TestSupport.baseYAML.write(toFile: dir + "/good.yaml", atomically: true, encoding: .utf8)
    let (s2, o2) = try await TestSupport.run(cli, ["config", "check", dir + "/good.yaml"])
    #expect(s2 == 0, "\(o2)")
  }

  @Test func reloadValidatesFirstAndKeepsTheRunningConfigWhenInvalid() async throws {
    let dir = TestSupport.tempDir()
    let file = dir + "/c.yaml"
    try TestSupport.baseYAML.write(toFile: file, atomically: true, encoding: .utf8)
    try await TestSupport.withDaemon(configPath: file) { daemon, socket in
      let client = try await SwitchboardClient.connect(socketPath: socket)
      await #expect(throws: SwitchboardStatusError.self) { _ = try await client.complete(TestSupport.request(route: "added")) }

      // Valid change: a new route appears without a restart.
      try (TestSupport.baseYAML + "\n  added: {candidates: [fast/m]}\n").write(toFile: file, atomically: true, encoding: .utf8)
      var a = Switchboard_V1_AdminRequest(); a.kind = .reloadConfig(.init())
      let ok = try await client.admin(a).reloadConfig
      #expect(ok.applied, "\(ok.errors)")
      #expect(try await client.complete(TestSupport.request(route: "added")).provider == "fast")

      // Invalid change: rejected with its errors, the running config stays.
      try "providers: {}\nroutes: {added: {candidates: [nope/m]}}\n".write(toFile: file, atomically: true, encoding: .utf8)
      let bad = try await client.admin(a).reloadConfig
      #expect(!bad.applied)
      #expect(bad.errors.contains { $0.contains("providers") })
      #expect(bad.configDigest == ok.configDigest)
      #expect(try await client.complete(TestSupport.request(route: "added")).provider == "fast")

      // A call in flight finishes under the policy it started with.
      try (TestSupport.baseYAML.replacingOccurrences(of: "p50: 5000, p99: 6000", with: "p50: 1500, p99: 1600")).write(toFile: file, atomically: true, encoding: .utf8)
      _ = try await client.admin(a)  // slow provider now ~1.5 s
      let inflight = Task { try await client.complete(TestSupport.request(route: "slow")) }
      // Reload once its attempt runs (a fixed 30 ms let the reload win on a loaded
      // machine: the route was gone before the call arrived).
      #expect(await TestSupport.eventually { TestSupport.attemptsInFlight(daemon, "slow/m") == 1 })
      // (logging stays as it was: a logging change needs a restart and would be refused)
      try "logging: {level: error}\nproviders: {fast: {kind: simulated}}\nroutes: {default: {candidates: [fast/m]}}\n".write(toFile: file, atomically: true, encoding: .utf8)
      #expect(try await client.admin(a).reloadConfig.applied)
      #expect(try await inflight.value.provider == "slow")
      await #expect(throws: SwitchboardStatusError.self) { _ = try await client.complete(TestSupport.request(route: "slow")) }
      await client.close()
      _ = daemon
    }
  }

  /// The real binary: SIGHUP reloads the file; an invalid file is rejected and the
  /// running config kept; SIGTERM drains and removes the socket.
  @Test func sighupReloadsTheRealDaemon() async throws {
    let daemonPath = TestSupport.repoRoot.appendingPathComponent(".build/debug/switchboardd").path
    try #require(FileManager.default.isExecutableFile(atPath: daemonPath))
    let dir = TestSupport.tempDir()
    let file = dir + "/c.yaml", socket = dir + "/h.sock"
    let yaml = TestSupport.baseYAML.replacingOccurrences(of: "logging: {level: error}", with: "logging: {level: notice}")
    try yaml.write(toFile: file, atomically: true, encoding: .utf8)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: daemonPath)
    p.arguments = ["--config", file, "--socket", socket]
    let log = Pipe()
    p.standardError = log
    try p.run()
    let c = try await TestSupport.connectWhenUp(socket)
    await #expect(throws: SwitchboardStatusError.self) { _ = try await c.complete(TestSupport.request(route: "hup")) }

    try (yaml + "\n  hup: {candidates: [fast/m]}\n").write(toFile: file, atomically: true, encoding: .utf8)
    kill(p.processIdentifier, SIGHUP)
    var served: String?
    await TestSupport.eventually {
      served = try? await c.complete(TestSupport.request(route: "hup")).provider
      return served != nil
    }
    #expect(served == "fast")

    try "routes: {hup: {candidates: [gone/m]}}\n".write(toFile: file, atomically: true, encoding: .utf8)
    kill(p.processIdentifier, SIGHUP)
    // The health digest stays the same and the route keeps working.
    var h = Switchboard_V1_AdminRequest(); h.kind = .health(.init())
    let before = try await c.admin(h).health.configDigest
    for _ in 0..<10 { #expect(try await c.complete(TestSupport.request(route: "hup")).provider == "fast") }
    #expect(try await c.admin(h).health.configDigest == before)
    await c.close()
    kill(p.processIdentifier, SIGTERM)
    await TestSupport.waitForExit(p)
    #expect(p.terminationStatus == 0)
    #expect(!FileManager.default.fileExists(atPath: socket))
    let stderr = String(decoding: log.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(stderr.contains("configuration reloaded"))
    #expect(stderr.contains("reload rejected"))
  }

  @Test func demoRunsEndToEnd() async throws {
    let cli = TestSupport.repoRoot.appendingPathComponent(".build/debug/switchboard").path
    try #require(FileManager.default.isExecutableFile(atPath: cli))
    let (status, out) = try await TestSupport.run(cli, ["demo"])
    #expect(status == 0, "\(out)")
    #expect(out.contains("route=payments-assist provider=sim-a/llama-3.3"))
    #expect(out.contains("attempt=1 provider=sim-a/llama-3.3 failed=timeout"))
    #expect(out.contains("fallback=sim-b/claude-3.5 selected"))
    #expect(out.contains("explainability_event=recorded"))
    #expect(out.contains("socket removed"))
  }
}
