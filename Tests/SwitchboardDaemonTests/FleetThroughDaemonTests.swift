import Foundation
import Synchronization
import SwitchboardClient
import SwitchboardTestKit
import SwitchboardWire
import Testing

/// Three real `switchboardd` processes sharing one real PostgreSQL (`shared_state:`).
/// Skipped, with the reason printed, where no server can be started or the daemon
/// binary is not built.
@Suite(.enabled(if: PostgresTestServer.isAvailable, "needs a PostgreSQL server (apt-get install -y postgresql)"),
       .enabled(if: DaemonProcess.available, "needs .build/debug/switchboardd"), .serialized)
struct FleetThroughDaemonTests {
  /// A sidecar's config on `server`; the password comes from a file.
  static func yaml(_ server: PostgresTestServer, dir: String, id: String, onUnavailable: String = "fail_closed",
                   leaseMs: Int = 30_000, extra: String = "", routeCap: String = "0.002") throws -> String {
    let pw = dir + "/pg-\(id).pw"
    try server.password.write(toFile: pw, atomically: true, encoding: .utf8)
    let share = onUnavailable == "local" ? "\n  local_share: 0.25" : ""
    // timeout_ms 2 s: 500 ms could time out a healthy database's answer on a loaded
    // machine (a fail_closed sidecar then refused with the database up).
    return """
      listen: {socket: /tmp/unused.sock, max_in_flight_per_connection: 512}
      logging: {level: info}
      shared_state:
        postgres: {url: "\(server.url)", pool_size: 4, lease_ms: \(leaseMs), timeout_ms: 2000, maintenance_ms: 100, password_file: "\(pw)"}
        on_unavailable: \(onUnavailable)\(share)
        sidecar_id: \(id)
      providers:
        sim: {kind: simulated, seed: 7, latency_ms: {p50: 20, p99: 60}, output_tokens: 16}
        slow: {kind: simulated, seed: 8, latency_ms: {p50: 30000, p99: 31000}}
      models:
        sim/m: {input: 1.0, output: 2.0, context: 32000, max_output: 64, capabilities: [streaming]}
        slow/m: {input: 1.0, output: 2.0, context: 32000, max_output: 64, capabilities: [streaming]}
      budgets: {daemon: {daily_usd: {hard: \(routeCap)}}}
      routes:
        r: {candidates: [sim/m]}
        hold: {candidates: [slow/m], timeouts: {attempt_ms: 60000, first_token_ms: 60000}, retry: {deadline_ms: 60000}}
      \(extra)
      """
  }

  static func request(_ route: String = "r", deadlineMs: UInt32 = 0) -> Switchboard_V1_CompletionRequest {
    var r = TestSupport.request(route: route)
    r.optMaxTokens = .maxTokens(16)
    r.deadlineMs = deadlineMs
    return r
  }

  enum Answer: Sendable { case ok(Switchboard_V1_CompletionResponse), refused(Switchboard_V1_Status), transport(String) }

  static func call(_ c: SwitchboardClient, _ r: Switchboard_V1_CompletionRequest) async -> Answer {
    do { return .ok(try await c.complete(r)) } catch let e as SwitchboardStatusError { return .refused(e.status) } catch {
      return .transport("\(type(of: error))")
    }
  }

  /// Spent and reserved of the fleet-wide (`daemon`) daily cap, read from the database itself.
  static func capSpent(_ server: PostgresTestServer) throws -> (spent: Int64, reserved: Int64) {
    let out = try server.psql("SELECT coalesce(sum(spent), 0) || ' ' || coalesce(sum(reserved), 0) FROM sb_budget_account WHERE scope = 'daemon' AND win = 'daily'",
                              database: server.database)
    let parts = out.split(separator: " ").compactMap { Int64($0) }
    return (parts.first ?? -1, parts.last ?? -1)
  }

  static func openReservations(_ server: PostgresTestServer, sidecar: String) throws -> Int {
    Int(try server.psql("SELECT count(*) FROM sb_budget_reservation WHERE status = 'open' AND sidecar_id = '\(sidecar)'",
                        database: server.database)) ?? -1
  }

  /// 300 requests (waves of 50 concurrent) spread over three sidecars against a
  /// 0.002 USD fleet-wide daily cap: what the fleet settled is at most the cap (each sidecar alone would let
  /// the whole cap through: 3× over it with local ledgers), every sidecar served
  /// some and refused some, and every answer says the shared ledger answered.
  @Test func threeSidecarsKeepOneHardCapUnderConcurrentLoad() async throws {
    let server = try await PostgresTestServer.make()
    defer { server.remove() }
    let dir = TestSupport.tempDir()
    var daemons: [DaemonProcess] = []
    for i in 0..<3 { daemons.append(try await DaemonProcess(yaml: try Self.yaml(server, dir: dir, id: "sc\(i)"))) }
    var clients: [SwitchboardClient] = []
    for d in daemons { clients.append(try await SwitchboardClient.connect(socketPath: d.socket)) }
    var all: [(Int, Answer)] = []
    let cs = clients
    // Six waves of 50 concurrent calls (300 in all), so settled spend builds up
    // towards the cap: with a ledger per sidecar the three would settle ~3× the cap.
    for wave in 0..<6 {
      all += await withTaskGroup(of: (Int, Answer).self) { group in
        for j in 0..<50 {
          let i = wave * 50 + j
          group.addTask { (i % 3, await Self.call(cs[i % 3], Self.request())) }
        }
        var out: [(Int, Answer)] = []
        for await a in group { out.append(a) }
        return out
      }
    }
    var spentReported: Int64 = 0
    var served = [0, 0, 0], refused = [0, 0, 0]
    for (sidecar, a) in all {
      switch a {
      case .ok(let r):
        served[sidecar] += 1
        spentReported += r.totalSpendMicroUsd
        #expect(r.stateBackend == "postgres")
      case .refused(let s):
        refused[sidecar] += 1
        #expect(s.reasonCode == "budget_violation" || s.reasonCode == "budget_exhausted", "unexpected refusal \(s.reasonCode)")
        #expect(s.stateBackend == "postgres" || s.reasonCode == "budget_exhausted")
      case .transport(let e): Issue.record("transport error \(e)")
      }
    }
    #expect(spentReported <= 2_000, "the answers report \(spentReported) µUSD spent against a 2000 µUSD cap")
    let (spent, reserved) = try Self.capSpent(server)
    #expect(spent <= 2_000, "the fleet settled \(spent) µUSD against a 2000 µUSD cap")
    #expect(spent == spentReported, "the shared ledger holds exactly what the answers report")
    #expect(reserved == 0)
    #expect(spent > 1_000, "the cap was actually reached (\(spent))")
    #expect(served.allSatisfy { $0 > 0 } && refused.allSatisfy { $0 > 0 }, "served \(served) refused \(refused)")
    // The decision event says it too (explain on the sidecar that served it).
    if let (sidecar, answer) = all.first(where: { if case .ok = $0.1 { return true } else { return false } }), case .ok(let r) = answer {
      var a = Switchboard_V1_AdminRequest(); var e = Switchboard_V1_ExplainRequest(); e.requestID = r.requestID; a.kind = .explain(e)
      #expect(try await clients[sidecar].admin(a).explain.event.stateBackend == "postgres")
    }
    for c in clients { await c.close() }
    for d in daemons { _ = await d.terminate() }
  }

  /// kill -9 of a sidecar holding reservations (calls hanging upstream): the cap
  /// stays blocked only until its leases expire; the other sidecars reap them and
  /// go on serving; its settled spend stays.
  @Test func killNineOfOneSidecarItsLeasesExpireAndTheOthersGoOn() async throws {
    let server = try await PostgresTestServer.make()
    defer { server.remove() }
    let dir = TestSupport.tempDir()
    var daemons: [DaemonProcess] = []
    for i in 0..<3 {
      daemons.append(try await DaemonProcess(yaml: try Self.yaml(server, dir: dir, id: "k\(i)", leaseMs: 3_000, routeCap: "0.0005")))
    }
    let victim = try await SwitchboardClient.connect(socketPath: daemons[0].socket)
    let other = try await SwitchboardClient.connect(socketPath: daemons[1].socket)
    // Settled spend first (on the victim), then calls that hang and hold the rest of the cap.
    var settled: Int64 = 0
    for _ in 0..<3 {
      if case .ok(let r) = await Self.call(victim, Self.request()) { settled += r.totalSpendMicroUsd }
    }
    #expect(settled > 0)
    let hanging = Task {
      await withTaskGroup(of: Void.self) { g in
        for _ in 0..<6 { g.addTask { _ = await Self.call(victim, Self.request("hold")) } }
      }
    }
    await TestSupport.eventually(timeout: .seconds(60)) { ((try? Self.openReservations(server, sidecar: "k0")) ?? 0) > 0 }
    let held = try Self.openReservations(server, sidecar: "k0")
    #expect(held > 0, "the hanging calls hold reservations")
    guard case .refused(let blocked) = await Self.call(other, Self.request()) else {
      Issue.record("the cap must be full while the victim's reservations are held"); return
    }
    #expect(blocked.reasonCode == "budget_violation" || blocked.reasonCode == "budget_exhausted")
    kill(daemons[0].pid, SIGKILL)
    _ = await daemons[0].waitForExit()
    hanging.cancel()
    // Within a lease (3 s: with 1 s a starved victim could miss its renewals and lose the
    // leases while alive) plus a maintenance pass the survivors give them back (bounded wait).
    await TestSupport.eventually(timeout: .seconds(60)) { ((try? Self.openReservations(server, sidecar: "k0")) ?? 1) == 0 }
    #expect(try Self.openReservations(server, sidecar: "k0") == 0, "the dead sidecar's leases expired")
    var servedAfter = 0
    await TestSupport.eventually {
      if case .ok = await Self.call(other, Self.request()) { servedAfter += 1 }
      return servedAfter > 0
    }
    #expect(servedAfter > 0, "the others go on")
    #expect(try Self.capSpent(server).spent >= settled, "the dead sidecar's settled spend stays")
    await victim.close(); await other.close()
    for d in daemons.dropFirst() { _ = await d.terminate() }
  }

  /// PostgreSQL killed mid-load and restarted: the fail_closed sidecar refuses with
  /// `shared_state_unavailable` (UNAVAILABLE, retryable), the local sidecar serves
  /// from its share (`local_fallback`), no call outlives its 5 s deadline; after the
  /// restart both serve from the shared ledger again and the local spend is in it.
  @Test func databaseRestartMidLoadFollowsOnUnavailableAndNothingHangs() async throws {
    let server = try await PostgresTestServer.make()
    defer { server.remove() }
    let dir = TestSupport.tempDir()
    let closed = try await DaemonProcess(yaml: try Self.yaml(server, dir: dir, id: "fc", routeCap: "1"))
    let local = try await DaemonProcess(yaml: try Self.yaml(server, dir: dir, id: "lf", onUnavailable: "local", routeCap: "1"))
    let cc = try await SwitchboardClient.connect(socketPath: closed.socket)
    let lc = try await SwitchboardClient.connect(socketPath: local.socket)
    /// One call's outcome key, how long it took, and what a local-fallback answer spent.
    struct Outcome: Sendable { var key: String; var took: Duration; var fallbackSpend: Int64 }
    @Sendable func load(_ rounds: Int) async -> [Outcome] {
      await withTaskGroup(of: Outcome.self) { g in
        for i in 0..<rounds {
          g.addTask {
            let c = i % 2 == 0 ? cc : lc
            let who = i % 2 == 0 ? "fc" : "lf"
            let t = ContinuousClock.now
            let a = await Self.call(c, Self.request(deadlineMs: 5_000))
            let d = ContinuousClock.now - t
            switch a {
            case .ok(let r):
              return Outcome(key: "\(who):ok:\(r.stateBackend)", took: d, fallbackSpend: r.stateBackend == "local_fallback" ? r.totalSpendMicroUsd : 0)
            case .refused(let s): return Outcome(key: "\(who):\(s.reasonCode):\(s.code):\(s.retryable)", took: d, fallbackSpend: 0)
            case .transport(let e): return Outcome(key: "transport:\(e)", took: d, fallbackSpend: 0)
            }
          }
        }
        var out: [Outcome] = []
        for await o in g { out.append(o) }
        return out
      }
    }
    let before = await load(40)
    try await server.stopOffPool()
    let outage = await load(60)
    var localFallbackSpend = (before + outage).reduce(0) { $0 + $1.fallbackSpend }
    var during: [String: Int] = [:]
    for o in outage { during[o.key, default: 0] += 1 }
    #expect((during["fc:shared_state_unavailable:unavailable:true"] ?? 0) > 0, "fail_closed refuses: \(during)")
    #expect((during["lf:ok:local_fallback"] ?? 0) > 0, "local serves from its share: \(during)")
    #expect(during.keys.allSatisfy { !$0.hasPrefix("transport") && !$0.hasPrefix("lf:shared_state") }, "\(during)")
    // A call ends at its 5 s deadline; the answer may come a little later on a loaded
    // machine (6 s flaked), but a call waiting on the dead database would run on for good.
    #expect((before + outage).map(\.took).max() ?? .zero < .seconds(12), "no call outlived its deadline")
    try await server.startOffPool()
    // Both return to the shared ledger by themselves (bounded wait while the pools reconnect).
    var back = false
    for _ in 0..<100 {
      let a = await Self.call(cc, Self.request()), b = await Self.call(lc, Self.request())
      // Until its probe sees the database, the local sidecar still spends from its share: count that too.
      if case .ok(let r) = b, r.stateBackend == "local_fallback" { localFallbackSpend += r.totalSpendMicroUsd }
      if case .ok(let x) = a, x.stateBackend == "postgres", case .ok(let y) = b, y.stateBackend == "postgres" { back = true; break }
      try await Task.sleep(for: .milliseconds(100))
    }
    #expect(back, "both sidecars serve from the shared ledger again")
    // The local fallback's spend was pushed to the shared ledger.
    let reconciled = await TestSupport.eventually(timeout: .seconds(60)) {
      guard let total = try? Self.capSpent(server).spent,
        let pushed = Int64((try? server.psql("SELECT coalesce(sum(amount), 0) FROM sb_budget_charge WHERE sidecar_id = 'lf'", database: server.database)) ?? "")
      else { return false }
      return pushed == localFallbackSpend && total >= pushed
    }
    #expect(reconciled, "the local fallback's spend reached the shared ledger exactly once")
    await cc.close(); await lc.close()
    _ = await closed.terminate(); _ = await local.terminate()
  }
}
