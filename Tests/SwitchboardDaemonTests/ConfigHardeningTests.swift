import Foundation
import SwitchboardClient
import SwitchboardDaemon
import SwitchboardTestKit
import SwitchboardWire
import Testing

/// Issue 11, bullets 2, 5, 6 and 8: config errors never echo values; validation
/// matches what runs; reload is honest; the metrics listener is checked up front.
@Suite(.serialized) struct ConfigHardeningTests {
  static let canary = "sk-CANARY-7f3a9c"

  /// Configs with the canary secret in every position an error can point at.
  static let canaryConfigs: [(String, String)] = [
    ("duplicate key next to a literal key", """
      providers:
        up:
          kind: openai
          base_url: "http://127.0.0.1:9/v1"
          keys: [{value: "\(canary)", value: "\(canary)"}]
      routes: {r: {candidates: [up/m]}}
      """),
    ("duplicate top-level key", "providers: {a: {kind: simulated}}\nproviders: {b: {kind: openai, keys: [{value: \"\(canary)\"}]}}\n"),
    ("unterminated quote", "providers:\n  a: {kind: openai, keys: [{value: \"\(canary)}]}\n"),
    ("bad indentation after a secret", "providers:\n  a:\n    kind: openai\n    keys:\n      - value: \(canary)\n     bad: [\n"),
    ("tab indentation", "providers:\n\ta: {keys: [{value: \(canary)}]}\n"),
    ("secret as an integer", "listen: {max_frame_bytes: \(canary)}\nproviders: {a: {kind: simulated}}\n"),
    ("secret as a number", "providers: {a: {kind: simulated, latency_ms: {p50: \(canary)}}}\n"),
    ("secret as a bool", "audit: {durable_responses: \(canary)}\nproviders: {a: {kind: simulated}}\n"),
    ("secret as an enum", "logging: {level: \(canary)}\nproviders: {a: {kind: simulated}}\nroutes: {r: {strategy: \(canary), candidates: [a/m]}}\n"),
    ("secret as a kind", "providers: {a: {kind: \(canary)}}\n"),
    ("secret as a preset", "providers: {a: {kind: openai, preset: \(canary)}}\n"),
    ("secret as a candidate", "providers: {a: {kind: simulated}}\nroutes: {r: {candidates: [\(canary), \"\(canary)/m\"]}}\n"),
    ("secret as a fault", "providers: {a: {kind: simulated, faults: [\(canary)]}}\n"),
    ("secret as a base_url", "providers: {a: {kind: openai, base_url: \(canary)}}\n"),
    ("secret as a group", "listen: {group: \(canary)}\nproviders: {a: {kind: simulated}}\n"),
    ("secret as metrics.listen", "metrics: {listen: \"\(canary):9\"}\nproviders: {a: {kind: simulated}}\n"),
    ("secret as a mode", "listen: {mode: \(canary)}\nproviders: {a: {kind: simulated}}\n"),
    ("secret as a capability", "providers: {a: {kind: simulated}}\nmodels: {a/m: {capabilities: [\(canary)]}}\n"),
    ("secret in a list where a mapping belongs", "providers: {a: {kind: openai, headers: [\(canary)]}}\n"),
  ]

  @Test func configErrorsNameThePathAndLineButNeverTheValue() async throws {
    let cli = TestSupport.repoRoot.appendingPathComponent(".build/debug/switchboard").path
    try #require(FileManager.default.isExecutableFile(atPath: cli))
    let dir = TestSupport.tempDir()
    for (i, (name, yaml)) in Self.canaryConfigs.enumerated() {
      // The parser.
      do {
        _ = try DaemonConfiguration.parse(yaml: yaml)
        Issue.record("\(name): accepted")
      } catch let e as ConfigError {
        #expect(!e.description.contains("CANARY"), "\(name): \(e)")
        #expect(e.issues.allSatisfy { $0.line != nil }, "\(name): every issue has a line: \(e)")
        #expect(e.issues.allSatisfy { !$0.path.isEmpty && $0.path != "(yaml)" || $0.line != nil }, "\(name): \(e)")
      }
      let file = dir + "/bad\(i).yaml"
      try yaml.write(toFile: file, atomically: true, encoding: .utf8)
      // `config check` and the daemon's startup.
      let (s1, o1) = try await TestSupport.run(cli, ["config", "check", file])
      #expect(s1 == 2 && !o1.contains("CANARY"), "\(name): config check printed \(o1)")
      if DaemonProcess.available {
        let (s2, o2) = try await TestSupport.run(DaemonProcess.binary, ["--config", file, "--socket", dir + "/never.sock"])
        #expect(s2 == 2 && !o2.contains("CANARY"), "\(name): startup printed \(o2)")
      }
    }
    // A reload: the status sent to the caller and the log lines.
    let file = dir + "/live.yaml"
    try TestSupport.baseYAML.write(toFile: file, atomically: true, encoding: .utf8)
    let capture = LogCapture()
    let daemon = try await InProcessDaemon.start(yaml: TestSupport.baseYAML, socketPath: dir + "/r.sock", configPath: file, logger: capture.logger)
    let client = try await SwitchboardClient.connect(socketPath: dir + "/r.sock")
    var a = Switchboard_V1_AdminRequest(); a.kind = .reloadConfig(.init())
    for (name, yaml) in Self.canaryConfigs {
      try yaml.write(toFile: file, atomically: true, encoding: .utf8)
      let r = try await client.admin(a).reloadConfig
      #expect(!r.applied)
      #expect(!r.errors.isEmpty && !r.errors.joined().contains("CANARY"), "\(name): reload answered \(r.errors)")
    }
    await client.close()
    await daemon.stop()
    #expect(capture.text.contains("reload rejected"))
    #expect(!capture.text.contains("CANARY"), "the log echoed a value: \(capture.text)")
  }

  @Test func duplicateKeyNamesItsPathAndLine() throws {
    let yaml = Self.canaryConfigs[0].1
    do { _ = try DaemonConfiguration.parse(yaml: yaml); Issue.record("accepted") } catch let e as ConfigError {
      let i = try #require(e.issues.first)
      #expect(i.path == "providers.up.keys", "\(i)")
      #expect(i.line == 5, "\(i)")
      #expect(i.message.contains("duplicate key 'value'"), "\(i)")
    }
  }

  func issues(_ yaml: String) -> [ConfigIssue] {
    do { _ = try DaemonConfiguration.parse(yaml: yaml); return [] } catch let e as ConfigError { return e.issues } catch { return [] }
  }

  @Test(arguments: [
    ("listen: {max_frame_bytes: 5000000000}", "listen.max_frame_bytes"),
    ("listen: {max_in_flight_per_connection: 5000000000}", "listen.max_in_flight_per_connection"),
    ("listen: {max_in_flight: 0}", "listen.max_in_flight"),
    ("listen: {allowed_uids: [4294967296]}", "listen.allowed_uids[0]"),
    ("listen: {admin_uids: [-1]}", "listen.admin_uids[0]"),
    ("listen: {write_timeout_ms: 0}", "listen.write_timeout_ms"),
    ("listen: {idle_timeout_ms: 0}", "listen.idle_timeout_ms"),
    ("listen: {frame_read_timeout_ms: 0}", "listen.frame_read_timeout_ms"),
    ("listen: {max_frame_bytes: 8388608, max_inbound_buffer_bytes: 1048576}", "listen.max_inbound_buffer_bytes"),
    ("routes: {r: {candidates: [a/m], timeouts: {attempt_ms: 0}}}", "routes.r.timeouts.attempt_ms"),
    ("routes: {r: {candidates: [a/m], timeouts: {first_token_ms: 0}}}", "routes.r.timeouts.first_token_ms"),
    ("routes: {r: {candidates: [a/m], retry: {deadline_ms: 0}}}", "routes.r.retry.deadline_ms"),
    ("routes: {r: {candidates: [a/m], constraints: {latency_sla_ms: 99999999999}}}", "routes.r.constraints.latency_sla_ms"),
    ("providers: {o: {kind: openai, faults: [timeout]}}", "providers.o.faults"),
    ("providers: {o: {kind: anthropic, preset: groq}}", "providers.o.preset"),
    ("providers: {s: {kind: simulated, base_url: \"http://x\"}}", "providers.s.base_url"),
    ("metrics: {listen: \"0.0.0.0:9464\"}", "metrics.listen"),
    ("metrics: {listen: \"example.com:9464\"}", "metrics.listen"),
  ])
  func outOfRangeAndCrossKindValuesAreRejected(_ bad: String, _ path: String) {
    let yaml = (bad.hasPrefix("providers:") ? "" : "providers: {a: {kind: simulated}}\n") + bad + "\n"
    let found = issues(yaml)
    #expect(found.contains { $0.path == path }, "expected an issue at \(path): \(found)")
  }

  @Test func nonLoopbackMetricsNeedTheAllowKey() throws {
    let c = try DaemonConfiguration.parse(yaml: "providers: {a: {kind: simulated}}\nmetrics: {listen: \"0.0.0.0:9464\", allow_non_loopback: true}\n")
    #expect(c.metricsListen == "0.0.0.0:9464" && c.metricsAllowNonLoopback)
  }

  @Test func configCheckBuildsAdaptersAndWarns() async throws {
    let dir = TestSupport.tempDir()
    let azure = dir + "/azure.yaml"
    try "providers: {az: {kind: openai, preset: azure}}\nroutes: {r: {candidates: [az/gpt-4o]}}\n".write(toFile: azure, atomically: true, encoding: .utf8)
    let r1 = await ConfigCheck.run(path: azure)
    #expect(r1.configuration == nil)
    #expect(r1.errors.contains { $0.path == "providers.az" && $0.message.contains("base_url") }, "\(r1.errors)")

    let warn = dir + "/warn.yaml"
    try """
      providers:
        oa: {kind: openai, api_key_env: SB_TEST_UNSET_KEY_VAR}
        sim: {kind: simulated}
      routes:
        capped: {candidates: [oa/gpt-4o, sim/unpriced-model], constraints: {max_cost_usd: 0.01}}
      """.write(toFile: warn, atomically: true, encoding: .utf8)
    let r2 = await ConfigCheck.run(path: warn, environment: [:])
    #expect(r2.configuration != nil, "\(r2.errors)")
    #expect(r2.warnings.contains { $0.path == "providers.oa" && $0.message.contains("SB_TEST_UNSET_KEY_VAR is unset") }, "\(r2.warnings)")
    #expect(r2.warnings.contains { $0.path == "routes.capped.candidates[1]" && $0.message.contains("no known price") }, "\(r2.warnings)")
    let r3 = await ConfigCheck.run(path: warn, environment: ["SB_TEST_UNSET_KEY_VAR": "sk-x"])
    #expect(!r3.warnings.contains { $0.path == "providers.oa" })
  }

  /// `ca_file`: a missing file or one without a certificate is a config error at its
  /// path that quotes neither the file name nor its content; a real CA file builds.
  @Test func caFileProblemsNameThePathOnly() async throws {
    let dir = TestSupport.tempDir()
    let missing = dir + "/\(Self.canary)-missing.pem", junk = dir + "/junk.pem", good = dir + "/ca.pem"
    try "not a certificate \(Self.canary)".write(toFile: junk, atomically: true, encoding: .utf8)
    try TestCertificates.caPEM.write(toFile: good, atomically: true, encoding: .utf8)
    for (file, message) in [(missing, "cannot read the CA file"), (junk, "invalid_ca")] {
      let path = dir + "/c.yaml"
      try "providers: {p: {kind: openai, base_url: \"https://127.0.0.1:9/v1\", ca_file: \"\(file)\"}}\nroutes: {r: {candidates: [p/m]}}\n"
        .write(toFile: path, atomically: true, encoding: .utf8)
      let r = await ConfigCheck.run(path: path, environment: [:])
      #expect(r.configuration == nil)
      #expect(r.errors.contains { $0.path.hasPrefix("providers.p") && $0.message.contains(message) }, "\(r.errors)")
      #expect(!r.errors.contains { $0.message.contains(Self.canary) || $0.message.contains(dir) }, "\(r.errors)")
    }
    let path = dir + "/ok.yaml"
    try "providers: {p: {kind: openai, base_url: \"https://127.0.0.1:9/v1\", ca_file: \"\(good)\"}}\nroutes: {r: {candidates: [p/m]}}\n"
      .write(toFile: path, atomically: true, encoding: .utf8)
    let r = await ConfigCheck.run(path: path, environment: [:])
    #expect(r.configuration != nil, "\(r.errors)")
  }

  /// The largest values `config check` accepts run: the Welcome fields fit the wire.
  @Test func theLargestAcceptedLimitsRun() async throws {
    let yaml = TestSupport.baseYAML.replacingOccurrences(
      of: "max_in_flight_per_connection: 512", with: "max_in_flight_per_connection: 65536, max_frame_bytes: 67108864, max_in_flight: 1000000, max_inbound_buffer_bytes: 134217728")
    try await TestSupport.withDaemon(yaml: yaml) { _, socket in
      let client = try await SwitchboardClient.connect(socketPath: socket, maxFrameBytes: 67_108_864)
      let (_, frames) = try await client.open(.hello(.init()))
      var welcome: Switchboard_V1_Welcome?
      for try await f in frames { if case .welcome(let w) = f.body { welcome = w } }
      #expect(welcome?.maxFrameBytes == 67_108_864)
      #expect(welcome?.maxConcurrentCallsPerConnection == 65_536)
      #expect(try await !client.complete(TestSupport.request(route: "default")).content.isEmpty)
      await client.close()
    }
  }

  /// Reload applies listen limits at once, refuses (by name) what needs a restart,
  /// and counts both in `switchboard_config_reloads_total`.
  @Test func reloadAppliesListenLimitsAndRefusesRestartKeys() async throws {
    let dir = TestSupport.tempDir()
    let file = dir + "/c.yaml"
    // The held call's provider answers after ~60 s (1.5 s could end it before the second
    // call arrived on a loaded machine); it is cancelled below.
    let yaml = TestSupport.baseYAML.replacingOccurrences(of: "p50: 5000, p99: 6000", with: "p50: 60000, p99: 61000")
    try yaml.write(toFile: file, atomically: true, encoding: .utf8)
    try await TestSupport.withDaemon(yaml: yaml, configPath: file) { daemon, socket in
      let client = try await SwitchboardClient.connect(socketPath: socket)
      var a = Switchboard_V1_AdminRequest(); a.kind = .reloadConfig(.init())
      try yaml.replacingOccurrences(of: "max_in_flight_per_connection: 512", with: "max_in_flight_per_connection: 1")
        .write(toFile: file, atomically: true, encoding: .utf8)
      #expect(try await client.admin(a).reloadConfig.applied)
      let (id, first) = try await client.open(.completionRequest(TestSupport.request(route: "slow")))
      #expect(await TestSupport.eventually { daemon.runtime.server.inFlight == 1 })
      do {
        _ = try await client.complete(TestSupport.request(route: "default"))
        Issue.record("the reloaded per-connection limit of 1 was not applied")
      } catch let e as SwitchboardStatusError {
        #expect(e.status.code == .overloaded)
      }
      try await client.cancel(id)
      for try await _ in first {}

      try (yaml + "\nmetrics: {listen: \"127.0.0.1:0\"}\n").write(toFile: file, atomically: true, encoding: .utf8)
      let refused = try await client.admin(a).reloadConfig
      #expect(!refused.applied)
      #expect(refused.errors.contains { $0.contains("metrics.listen cannot change on reload (restart the daemon)") }, "\(refused.errors)")
      let text = daemon.runtime.metrics.render(circuits: [], budgets: [])
      #expect(text.contains("switchboard_config_reloads_total{result=\"applied\"} 1"), "\(text)")
      #expect(text.contains("switchboard_config_reloads_total{result=\"rejected\"} 1"), "\(text)")
      await client.close()
    }
  }

  /// What a reload cannot apply is named, never applied half-way: the ledger's time
  /// zone, file and sync mode, and the HTTP listener, among the listener keys.
  @Test(arguments: [
    ("budgets: {time_zone: Europe/Berlin}", "budgets.time_zone"),
    ("budgets: {ledger_path: /tmp/other.ledger}", "budgets.ledger_path"),
    ("budgets: {ledger_sync: normal}", "budgets.ledger_sync"),
    ("http: {listen: \"127.0.0.1:18080\"}", "http"),
    ("metrics: {listen: \"127.0.0.1:0\"}", "metrics.listen"),
  ])
  func restartKeysAreNamed(_ extra: String, _ key: String) throws {
    let base = try DaemonConfiguration.parse(yaml: TestSupport.baseYAML)
    let next = try DaemonConfiguration.parse(yaml: TestSupport.baseYAML + "\n" + extra + "\n")
    #expect(DaemonRuntime.restartRequired(from: base, to: next) == [key])
    #expect(DaemonRuntime.restartRequired(from: base, to: base).isEmpty)
  }
}
