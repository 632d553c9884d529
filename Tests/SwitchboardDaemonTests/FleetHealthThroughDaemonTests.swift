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

  /// One key for the whole fleet: the circuit is per (provider, model, key), so the
  /// sidecars share a circuit only with the same key. (A key per sidecar gave each its
  /// own circuit and the test counted three fleets' probes.) The fake tells the
  /// sidecars' requests apart by the `x-sidecar` header each one's config adds.
  static let fleetKey = "sk-test-fleet-health-0123456789"

  /// (The database timeout is 10 s: with 2 s, a loaded parallel run timed out the probe
  /// lease queries, each sidecar fell back to local health and probed on its own.)
  /// A sidecar routing only to `fake` (one key), circuits opening at the first
  /// failure with a fixed 1 s cooldown (no jitter, no growth), shared health on or off.
  static func yaml(_ server: PostgresTestServer, fake: FakeProvider, dir: String, id: String, sharedHealth: Bool,
                   onUnavailable: String = "fail_closed", timeoutMs: Int = 10_000) throws -> String {
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
        down: {kind: openai, base_url: "\(fake.baseURL)", keys: [{value: "\(fleetKey)"}], headers: {x-sidecar: "\(id)"}}
      models:
        down/m: {input: 1.0, output: 2.0, context: 32000, max_output: 64, capabilities: [streaming]}
      routes:
        r: {candidates: [down/m], retry: {max_attempts: 1}}
      """
  }

  /// One request the fake saw: when (from the first), and whether it was its sidecar's
  /// opening failure (its first request, made before that sidecar had answered any
  /// call `circuit_open`) rather than a half-open probe.
  struct Arrival: Sendable { var at: Duration; var opening: Bool }

  /// What the fake saw while three sidecars each sent one request after another
  /// for `run`, and how long the run took.
  static func outage(sharedHealth: Bool, run: Duration = .seconds(5)) async throws -> (arrivals: [Arrival], answers: [String: Int], took: Duration) {
    let server = try await PostgresTestServer.make()
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
    let cs = Array(zip((0..<3).map { "h\($0)" }, clients))
    let started = ContinuousClock.now
    let end = started + run
    // Per sidecar: its answers, and when it first answered circuit_open.
    let results = await withTaskGroup(of: (String, [String: Int], ContinuousClock.Instant?).self) { g in
      for (id, c) in cs {
        g.addTask {
          var seen: [String: Int] = [:]
          var firstOpen: ContinuousClock.Instant?
          while ContinuousClock.now < end {
            switch await FleetThroughDaemonTests.call(c, FleetThroughDaemonTests.request(deadlineMs: 5_000)) {
            case .ok: seen["ok", default: 0] += 1
            case .refused(let s):
              seen[s.reasonCode, default: 0] += 1
              if s.reasonCode == "circuit_open", firstOpen == nil { firstOpen = ContinuousClock.now }
            case .transport(let e): seen["transport:\(e)", default: 0] += 1
            }
            try? await Task.sleep(for: .milliseconds(20))
          }
          return (id, seen, firstOpen)
        }
      }
      var all: [(String, [String: Int], ContinuousClock.Instant?)] = []
      for await r in g { all.append(r) }
      return all
    }
    let took = ContinuousClock.now - started
    let answers = results.reduce(into: [String: Int]()) { $0.merge($1.1, uniquingKeysWith: +) }
    let firstOpen = Dictionary(uniqueKeysWithValues: results.map { ($0.0, $0.2) })
    for c in clients { await c.close() }
    for d in daemons { _ = await d.terminate() }
    let attempts = fake.attempts.sorted { $0.at < $1.at }
    try await fake.shutdown()
    guard let first = attempts.first?.at else { return ([], answers, took) }
    // Which sidecar sent each request (by its header), and whether it was that sidecar's
    // opening failure. (Telling them apart by time — "within 500 ms of the first" —
    // flaked when a loaded machine delayed one sidecar's first call past 500 ms.)
    var seenSidecars: Set<String> = []
    let arrivals = attempts.map { a -> Arrival in
      let id = a.headers.first { $0.name.lowercased() == "x-sidecar" }?.value ?? "?"
      let isFirst = seenSidecars.insert(id).inserted
      let beforeOpen = firstOpen[id].map { open in open.map { a.at < $0 } ?? true } ?? false
      return Arrival(at: a.at - first, opening: isFirst && beforeOpen)
    }
    return (arrivals, answers, took)
  }

  /// The probes (every request but the sidecars' opening failures) and the shortest
  /// gap between two of them.
  static func probes(_ arrivals: [Arrival]) -> (count: Int, minGap: Duration?) {
    let later = arrivals.filter { !$0.opening }.map(\.at)
    let gaps = zip(later.dropFirst(), later).map { $0 - $1 }
    print("fleet health: \(arrivals.count) provider requests at ms \(arrivals.map { "\(Int($0.at.milliseconds))\($0.opening ? "o" : "")" }); probes after the opening \(later.count), shortest gap \(gaps.min().map { "\(Int($0.milliseconds)) ms" } ?? "-")")
    return (later.count, gaps.min())
  }

  /// Three sidecars sharing health against a provider that is down: after the
  /// opening, the provider sees one probe per cooldown across the fleet — no two
  /// within a cooldown of each other, at most one per second of the run — and the
  /// fleet does keep probing.
  @Test func anOutageAcrossTheFleetGetsOneProbePerCooldownInTotal() async throws {
    let (arrivals, answers, took) = try await Self.outage(sharedHealth: true)
    let (count, minGap) = Self.probes(arrivals)
    #expect(answers["ok"] == nil && !answers.keys.contains { $0.hasPrefix("transport") }, "\(answers)")
    // (> 0, not > 5: a starved run makes few calls in its 5 s.)
    #expect(answers["circuit_open", default: 0] > 0, "the circuits were open: \(answers)")
    #expect(arrivals.filter(\.opening).count <= 3, "the opening is one failure per sidecar at most: \(arrivals)")
    #expect(count >= 1, "the fleet does probe after the opening (the lease is not stuck): \(arrivals)")
    // At most one probe per cooldown over the run as it really lasted (5 s, longer on a loaded machine).
    let cooldowns = Int(took.components.seconds) + 1
    #expect(count <= cooldowns, "at most one probe per 1 s cooldown over a \(took) run: \(count) probes at \(arrivals)")
    #expect((minGap ?? .seconds(1)) >= .milliseconds(950), "two probes within one cooldown: \(arrivals)")
  }

  /// The counter-experiment: the same fleet with `shared_state.health: false`
  /// (each sidecar's circuits its own, as before shared health) sends one probe per
  /// sidecar per cooldown — the assertion above fails on it.
  @Test func withoutSharedHealthEachSidecarProbesOnItsOwn() async throws {
    let (arrivals, _, _) = try await Self.outage(sharedHealth: false)
    let (count, minGap) = Self.probes(arrivals)
    #expect(count > 5, "three sidecars on their own probe ~3× per cooldown: \(count) at \(arrivals)")
    #expect((minGap ?? .seconds(1)) < .milliseconds(950))
  }

  /// The database stops under a sidecar sharing health (and spending locally,
  /// `on_unavailable: local`): its circuits go on locally — the failing provider
  /// still gets its probes from this sidecar, no call waits past its deadline — and
  /// the log says health is local-only; after the restart it says it is shared again.
  @Test func anUnreachableDatabaseLeavesHealthLocalAndSaysSo() async throws {
    let server = try await PostgresTestServer.make()
    defer { server.remove() }
    let fake = FakeProvider(script: FakeScript(sequence: Array(repeating: FakeFault.status(503), count: 10_000)))
    try await fake.start()
    let dir = TestSupport.tempDir()
    let d = try await DaemonProcess(yaml: try Self.yaml(server, fake: fake, dir: dir, id: "solo", sharedHealth: true, onUnavailable: "local",
                                                   timeoutMs: 500))
    let c = try await SwitchboardClient.connect(socketPath: d.socket)
    try await server.stopOffPool()
    // At least 3.5 s, and on until a local probe and an open circuit were seen (a loaded
    // machine made too few calls in a fixed 3.5 s); the probe count is bounded by the
    // run's real length.
    let started = ContinuousClock.now
    var slowest: Duration = .zero
    var reasons: [String: Int] = [:]
    while ContinuousClock.now - started < .seconds(3.5)
      || ((fake.attempts.count < 2 || reasons["circuit_open", default: 0] == 0) && ContinuousClock.now - started < .seconds(30)) {
      let t = ContinuousClock.now
      switch await FleetThroughDaemonTests.call(c, FleetThroughDaemonTests.request(deadlineMs: 3_000)) {
      case .ok: reasons["ok", default: 0] += 1
      case .refused(let s): reasons[s.reasonCode, default: 0] += 1
      case .transport(let e): reasons["transport:\(e)", default: 0] += 1
      }
      slowest = max(slowest, ContinuousClock.now - t)
      try await Task.sleep(for: .milliseconds(20))
    }
    let ran = ContinuousClock.now - started
    // The database wait is bounded by timeout_ms (500 ms) and the call by its 3 s deadline;
    // a call stuck on the stopped database would not come back at all. 3 s flat left no
    // room for a loaded machine's answer to arrive a little after the deadline.
    #expect(slowest < .seconds(8), "no call waits for the database past its deadline (slowest \(slowest))")
    #expect(reasons["circuit_open", default: 0] > 0, "the local circuit opened: \(reasons)")
    let sent = fake.attempts.count
    let cooldowns = Int(ran.components.seconds) + 1
    #expect(sent >= 2 && sent <= cooldowns + 2, "the opening failure, then local probes, at most one per cooldown: \(sent) in \(ran)")
    let log = { (try? String(contentsOfFile: d.logPath, encoding: .utf8)) ?? "" }
    #expect(log().contains("shared health unreachable: circuits are local-only"))
    try await server.startOffPool()
    await TestSupport.eventually(timeout: .seconds(60)) { log().contains("shared health available") }
    #expect(log().contains("shared health available"), "shared again once the database answers")
    await c.close()
    _ = await d.terminate()
    try await fake.shutdown()
  }
}
