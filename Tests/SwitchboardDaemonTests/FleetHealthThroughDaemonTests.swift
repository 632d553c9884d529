import Foundation
import SwitchboardClient
import SwitchboardTestKit
import SwitchboardWire
import Testing

/// Shared health across three real `switchboardd` processes on one real
/// PostgreSQL, against a fake provider that fails every request: the fleet sends
/// it one half-open probe per cooldown in total, where three sidecars on their own
/// send one each. Skipped, with the reason printed, where no server can be started
/// or the daemon binary is not built.
@Suite(.enabled(if: PostgresTestServer.isAvailable, "needs a PostgreSQL server (apt-get install -y postgresql)"),
       .enabled(if: DaemonProcess.available, "needs .build/debug/switchboardd"), .serialized)
struct FleetHealthThroughDaemonTests {
  static let cooldown: Duration = .seconds(1)

  /// A sidecar routing only to `fake` (one key), circuits opening at the first
  /// failure with a fixed 1 s cooldown (no jitter, no growth), shared health on or off.
  static func yaml(_ server: PostgresTestServer, fake: FakeProvider, dir: String, id: String, sharedHealth: Bool,
                   onUnavailable: String = "fail_closed", timeoutMs: Int = 2_000) throws -> String {
    let pw = dir + "/pg-\(id).pw"
    try server.password.write(toFile: pw, atomically: true, encoding: .utf8)
    return """
      listen: {socket: /tmp/unused.sock}
      logging: {level: info}
      shared_state:
        postgres: {url: "\(server.url)", pool_size: 2, lease_ms: 30000, timeout_ms: \(timeoutMs), maintenance_ms: 100, password_file: "\(pw)"}
        sidecar_id: \(id)
        health: \(sharedHealth)
        on_unavailable: \(onUnavailable)
      circuit: {failure_threshold: 1, base_cooldown_ms: 1000, max_cooldown_ms: 1000, jitter: 0}
      providers:
        down: {kind: openai, base_url: "\(fake.baseURL)", keys: [{value: "sk-test-fleet-health-0123456789"}]}
      models:
        down/m: {input: 1.0, output: 2.0, context: 32000, max_output: 64, capabilities: [streaming]}
      routes:
        r: {candidates: [down/m], retry: {max_attempts: 1}}
      """
  }

  /// What the fake saw while three sidecars each sent one request after another
  /// for `run`: the arrival times of the requests, from the first.
  static func outage(sharedHealth: Bool, run: Duration = .seconds(5)) async throws -> (arrivals: [Duration], answers: [String: Int]) {
    let server = try PostgresTestServer()
    defer { server.remove() }
    let fake = FakeProvider(script: FakeScript(sequence: Array(repeating: FakeFault.status(503), count: 10_000)))
    try await fake.start()
    let dir = TestSupport.tempDir()
    var daemons: [DaemonProcess] = []
    for i in 0..<3 {
      daemons.append(try await DaemonProcess(yaml: try Self.yaml(server, fake: fake, dir: dir, id: "h\(i)", sharedHealth: sharedHealth)))
    }
    var clients: [SwitchboardClient] = []
    for d in daemons { clients.append(try await SwitchboardClient.connect(socketPath: d.socket)) }
    let cs = clients
    let end = ContinuousClock.now + run
    let answers = await withTaskGroup(of: [String: Int].self) { g in
      for c in cs {
        g.addTask {
          var seen: [String: Int] = [:]
          while ContinuousClock.now < end {
            switch await FleetThroughDaemonTests.call(c, FleetThroughDaemonTests.request(deadlineMs: 5_000)) {
            case .ok: seen["ok", default: 0] += 1
            case .refused(let s): seen[s.reasonCode, default: 0] += 1
            case .transport(let e): seen["transport:\(e)", default: 0] += 1
            }
            try? await Task.sleep(for: .milliseconds(20))
          }
          return seen
        }
      }
      var all: [String: Int] = [:]
      for await s in g { all.merge(s, uniquingKeysWith: +) }
      return all
    }
    for c in clients { await c.close() }
    for d in daemons { _ = await d.terminate() }
    let times = fake.attempts.map(\.at).sorted()
    try await fake.shutdown()
    guard let first = times.first else { return ([], answers) }
    return (times.map { $0 - first }, answers)
  }

  /// The probes after the opening burst (each sidecar's own first failure, before
  /// the fleet's view reached it) and the shortest gap between two of them.
  static func probes(_ arrivals: [Duration]) -> (count: Int, minGap: Duration?) {
    let later = arrivals.filter { $0 >= .milliseconds(500) }
    let gaps = zip(later.dropFirst(), later).map { $0 - $1 }
    print("fleet health: \(arrivals.count) provider requests at ms \(arrivals.map { Int($0.milliseconds) }); probes after the burst \(later.count), shortest gap \(gaps.min().map { "\(Int($0.milliseconds)) ms" } ?? "-")")
    return (later.count, gaps.min())
  }

  /// Three sidecars sharing health against a provider that is down: after the
  /// opening, the provider sees one probe per cooldown across the fleet — no two
  /// within a cooldown of each other, at most one per second of the run — and the
  /// fleet does keep probing.
  @Test func anOutageAcrossTheFleetGetsOneProbePerCooldownInTotal() async throws {
    let (arrivals, answers) = try await Self.outage(sharedHealth: true)
    let (count, minGap) = Self.probes(arrivals)
    #expect(answers["ok"] == nil && !answers.keys.contains { $0.hasPrefix("transport") }, "\(answers)")
    #expect(answers["circuit_open", default: 0] > 5, "the circuits were open: \(answers)")
    #expect(arrivals.filter { $0 < .milliseconds(500) }.count <= 3, "the opening burst is one failure per sidecar at most: \(arrivals)")
    #expect(count >= 1, "the fleet does probe after the opening (the lease is not stuck): \(arrivals)")
    #expect(count <= 5, "at most one probe per 1 s cooldown over a 5 s run: \(count) probes at \(arrivals)")
    #expect((minGap ?? .seconds(1)) >= .milliseconds(950), "two probes within one cooldown: \(arrivals)")
  }

  /// The counter-experiment: the same fleet with `shared_state.health: false`
  /// (each sidecar's circuits its own, as before shared health) sends one probe per
  /// sidecar per cooldown — the assertion above fails on it.
  @Test func withoutSharedHealthEachSidecarProbesOnItsOwn() async throws {
    let (arrivals, _) = try await Self.outage(sharedHealth: false)
    let (count, minGap) = Self.probes(arrivals)
    #expect(count > 5, "three sidecars on their own probe ~3× per cooldown: \(count) at \(arrivals)")
    #expect((minGap ?? .seconds(1)) < .milliseconds(950))
  }

  /// The database stops under a sidecar sharing health (and spending locally,
  /// `on_unavailable: local`): its circuits go on locally — the failing provider
  /// still gets its probes from this sidecar, no call waits past its deadline — and
  /// the log says health is local-only; after the restart it says it is shared again.
  @Test func anUnreachableDatabaseLeavesHealthLocalAndSaysSo() async throws {
    let server = try PostgresTestServer()
    defer { server.remove() }
    let fake = FakeProvider(script: FakeScript(sequence: Array(repeating: FakeFault.status(503), count: 10_000)))
    try await fake.start()
    let dir = TestSupport.tempDir()
    let d = try await DaemonProcess(yaml: try Self.yaml(server, fake: fake, dir: dir, id: "solo", sharedHealth: true, onUnavailable: "local",
                                                   timeoutMs: 500))
    let c = try await SwitchboardClient.connect(socketPath: d.socket)
    try server.stop()
    let end = ContinuousClock.now + .seconds(3.5)
    var slowest: Duration = .zero
    var reasons: [String: Int] = [:]
    while ContinuousClock.now < end {
      let t = ContinuousClock.now
      switch await FleetThroughDaemonTests.call(c, FleetThroughDaemonTests.request(deadlineMs: 3_000)) {
      case .ok: reasons["ok", default: 0] += 1
      case .refused(let s): reasons[s.reasonCode, default: 0] += 1
      case .transport(let e): reasons["transport:\(e)", default: 0] += 1
      }
      slowest = max(slowest, ContinuousClock.now - t)
      try await Task.sleep(for: .milliseconds(20))
    }
    #expect(slowest < .seconds(3), "no call waits for the database past its deadline (slowest \(slowest))")
    #expect(reasons["circuit_open", default: 0] > 0, "the local circuit opened: \(reasons)")
    let sent = fake.attempts.count
    #expect(sent >= 2 && sent <= 6, "the opening failure, then local probes, at most one per cooldown: \(sent) in 3.5 s")
    let log = { (try? String(contentsOfFile: d.logPath, encoding: .utf8)) ?? "" }
    #expect(log().contains("shared health unreachable: circuits are local-only"))
    try server.start()
    for _ in 0..<100 where !log().contains("shared health available") { try await Task.sleep(for: .milliseconds(50)) }
    #expect(log().contains("shared health available"), "shared again once the database answers")
    await c.close()
    _ = await d.terminate()
    try await fake.shutdown()
  }
}
