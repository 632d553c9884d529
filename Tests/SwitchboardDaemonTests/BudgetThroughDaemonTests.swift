import Foundation
import Synchronization
import SwitchboardClient
import SwitchboardCore
import SwitchboardDaemon
import SwitchboardTestKit
import SwitchboardWire
import Testing

/// A daemon in process on a temp socket, with one fake OpenAI-compatible provider `f`.
private struct BudgetStack {
  let daemon: InProcessDaemon
  let client: SwitchboardClient
  let fake: FakeProvider
  let dir: String
  let socket: String

  static func yaml(fake: FakeProvider, dir: String, _ extra: String) -> String {
    """
    listen: {socket: /tmp/unused.sock, max_in_flight_per_connection: 512}
    logging: {level: error}
    audit: {path: "\(dir)/audit.sqlite"}
    providers:
      f: {kind: openai, base_url: "\(fake.baseURL)", keys: [{value: "sk-test-budget-0123456789"}]}
    models:
      f/m: {input: 1.0, output: 2.0, context: 200000, max_output: 4096, capabilities: [streaming]}
      f/dear: {input: 200.0, output: 600.0, context: 200000, max_output: 4096, capabilities: [streaming]}
    \(extra)
    """
  }

  static func with(_ extra: String, fake configuration: FakeProvider.Configuration = .init(), dir: String = TestSupport.tempDir(),
                   _ body: (BudgetStack) async throws -> Void) async throws {
    let fake = FakeProvider(configuration: configuration)
    try await fake.start()
    defer { Task { try? await fake.shutdown() } }
    let socket = dir + "/b.sock"
    let daemon = try await InProcessDaemon.start(yaml: yaml(fake: fake, dir: dir, extra), socketPath: socket, environment: [:])
    do {
      let client = try await SwitchboardClient.connect(socketPath: socket)
      let s = BudgetStack(daemon: daemon, client: client, fake: fake, dir: dir, socket: socket)
      do { try await body(s) } catch { await client.close(); throw error }
      await client.close()
    } catch {
      await daemon.stop(); throw error
    }
    await daemon.stop()
  }

  func complete(_ r: Switchboard_V1_CompletionRequest) async -> Result<Switchboard_V1_CompletionResponse, SwitchboardStatusError> {
    do { return .success(try await client.complete(r)) } catch let e as SwitchboardStatusError { return .failure(e) } catch {
      var s = Switchboard_V1_Status(); s.code = .internal; s.reasonCode = "test_transport"; s.message = "\(error)"
      return .failure(SwitchboardStatusError(s))
    }
  }

  func health() async throws -> Switchboard_V1_HealthResponse {
    var a = Switchboard_V1_AdminRequest(); a.kind = .health(.init())
    return try await client.admin(a).health
  }

  func explain(_ id: String) async throws -> Switchboard_V1_DecisionEvent {
    var a = Switchboard_V1_AdminRequest(); var e = Switchboard_V1_ExplainRequest(); e.requestID = id; a.kind = .explain(e)
    return try await client.admin(a).explain.event
  }

  func decisions(correlation: String) async throws -> [Switchboard_V1_DecisionEvent] {
    var a = Switchboard_V1_AdminRequest(); var l = Switchboard_V1_ListDecisionsRequest(); l.correlationID = correlation; a.kind = .listDecisions(l)
    return try await client.admin(a).listDecisions.events
  }
}

private func request(route: String = "r", _ text: String = "hello", maxTokens: UInt32 = 16, tenant: String = "",
                     id: String = "", stream: Bool = false) -> Switchboard_V1_CompletionRequest {
  var r = TestSupport.request(route: route, text, stream: stream)
  r.optMaxTokens = .maxTokens(maxTokens)
  r.tenant = tenant
  r.requestID = id
  return r
}

private extension Result where Failure == SwitchboardStatusError {
  var status: Switchboard_V1_Status? { if case .failure(let e) = self { return e.status } else { return nil } }
  var ok: Success? { try? get() }
}

@Suite(.serialized) struct BudgetThroughDaemonTests {
  /// Break 5 through the socket: the tenant is the peer's (SO_PEERCRED), not what it writes.
  @Test func aPeerInventingTenantsIsRefusedAndCannotExceedItsCap() async throws {
    var fc = FakeProvider.Configuration(); fc.reportedInputTokens = 10; fc.reportedOutputTokens = 4
    let extra = """
      tenants:
        acme: {uids: [\(getuid())], sub_tenants: [team-a]}
      routes:
        r: {candidates: [f/m], budget: {per_tenant_daily_usd: {hard: 0.0003}}}
      """
    try await BudgetStack.with(extra, fake: fc) { s in
      // Reservation: ("hello" + role + overheads = 57 tokens) × 1 + 16 × 2 = 89 µUSD; each settles 10 + 8 = 18.
      var served = 0
      var refusal: Switchboard_V1_Status?
      for _ in 0..<40 {
        let r = await s.complete(request())
        if r.ok != nil { served += 1 } else { refusal = r.status; break }
      }
      #expect(refusal?.code == .resourceExhausted, "the peer's own cap refuses it")
      #expect(served > 0)
      let calls = s.fake.attempts.count
      for i in 0..<5 {
        let r = await s.complete(request(tenant: "fresh-\(i)"))
        #expect(r.status?.code == .permissionDenied && r.status?.reasonCode == "tenant_not_allowed")
        #expect(r.status?.message.contains("fresh") == false, "the refusal does not echo the name")
      }
      // The listed sub-tenant is charged to acme too: refused by acme's route × tenant cap.
      #expect(await s.complete(request(tenant: "team-a")).status?.code == .resourceExhausted)
      #expect(s.fake.attempts.count == calls, "nothing invented reached the provider")
      let scopes = try await s.health().budgets.map(\.scope)
      #expect(!scopes.contains { $0.contains("fresh") })
      #expect(scopes.contains("route:r/tenant:acme"))
    }
  }

  /// Break 4 through the socket: a provider reporting far more than the estimate.
  @Test func usageAboveTheEstimateIsCappedVisiblyAndTheScopeRefusesAfterIt() async throws {
    // Honest but large: one token per byte of a 6,000-byte prompt and all 1,000 output tokens.
    var honest = FakeProvider.Configuration(); honest.reportedInputTokens = 6_000; honest.reportedOutputTokens = 1_000
    let extra = """
      routes:
        r: {candidates: [f/dear], budget: {per_route_daily_usd: {hard: 10}}}
      """
    try await BudgetStack.with(extra, fake: honest) { s in
      let prompt = String(repeating: "ø", count: 3_000)
      let results = await withTaskGroup(of: Result<Switchboard_V1_CompletionResponse, SwitchboardStatusError>.self) { g in
        for _ in 0..<16 { g.addTask { await s.complete(request(prompt, maxTokens: 1_000)) } }
        var out: [Result<Switchboard_V1_CompletionResponse, SwitchboardStatusError>] = []
        for await r in g { out.append(r) }
        return out
      }
      let spent = try await s.health().budgets.first { $0.scope == "route:r" }?.spentMicroUsd ?? -1
      #expect(spent <= 10_000_000, "16 concurrent requests took a $10 cap to \(MicroUSD(spent))")
      #expect(results.compactMap(\.ok).reduce(Int64(0)) { $0 + $1.totalSpendMicroUsd } == spent)
      #expect(results.contains { $0.status?.code == .resourceExhausted })
    }
    // Dishonest: 3,011 input tokens reported for a 5-byte prompt (an overage the reservation could not foresee).
    var liar = FakeProvider.Configuration(); liar.reportedInputTokens = 3_011; liar.reportedOutputTokens = 4
    let capped = """
      routes:
        r: {candidates: [f/dear], budget: {per_route_daily_usd: {hard: 0.5}}}
      """
    try await BudgetStack.with(capped, fake: liar) { s in
      let first = try #require(await s.complete(request()).ok)
      // 3,011 × 200 + 4 × 600 = 604,600 µUSD charged against a ~21,000 µUSD reservation.
      #expect(first.totalSpendMicroUsd == 604_600)
      let event = try await s.explain(first.requestID)
      #expect(event.overageMicroUsd > 0 && event.attempts[0].overageMicroUsd > 0)
      #expect(event.attempts[0].chargedScopes == ["route:r@daily"])
      #expect(event.warnings.contains { $0.hasPrefix("budget_overage:") })
      // Over its cap now: the scope refuses until the next period, so the cap is exceeded by that one excess only.
      #expect(await s.complete(request()).status?.code == .resourceExhausted)
      #expect(s.fake.attempts.count == 1)
      let b = try await s.health().budgets.first { $0.scope == "route:r" }
      #expect(b?.spentMicroUsd == 604_600 && b?.reservedMicroUsd == 0)
      #expect(b?.spentUsd == 0.6046, "the deprecated double is derived from the integer")
    }
  }

  /// Breaks 1–3 through the socket: explicit target, unknown price, cut stream.
  @Test func explicitTargetsUnpricedModelsAndCutStreamsAreAllBudgeted() async throws {
    let extra = """
      budgets: {daemon: {daily_usd: {hard: 0.001}}}
      routes:
        r: {candidates: [f/m]}
        unpriced: {candidates: [f/mystery], budget: {per_route_daily_usd: {hard: 0.000001}}}
      """
    try await BudgetStack.with(extra) { s in
      // Unknown price under a hard cap: rejected before the network, every time.
      for _ in 0..<40 {
        let r = await s.complete(request(route: "unpriced"))
        #expect(r.status?.code != nil)
      }
      #expect(s.fake.attempts.isEmpty, "an unpriced model never reached the provider")

      // A stream cut after two chunks is charged.
      s.fake.script(model: "m", .streamCut(afterChunks: 2))
      let (_, frames) = try await s.client.stream(request(stream: true))
      var status: Switchboard_V1_Status?
      for try await f in frames { if case .status(let st) = f.body { status = st } }
      let id = try #require(status?.requestID)
      let cut = try await s.explain(id)
      #expect(cut.attempts.first?.costMicroUsd ?? 0 > 0, "the cut attempt was charged")
      #expect(cut.totalSpendMicroUsd > 0)

      // Explicit provider/model requests draw on the daemon-wide cap: spend until it refuses.
      var direct = request(route: "")
      direct.provider = "f"; direct.model = "m"
      var refused: Switchboard_V1_Status?
      for _ in 0..<100 {
        let r = await s.complete(direct)
        if let st = r.status { refused = st; break }
      }
      #expect(refused?.code == .resourceExhausted)
      let daemonScope = try await s.health().budgets.first { $0.scope == "daemon" }
      #expect((daemonScope?.spentMicroUsd ?? .max) <= 1_000)
    }
  }

  /// Break 7: a client-supplied id is a correlation id; reusing it cannot touch another caller's row.
  @Test func aReusedClientIDNeverReplacesAnotherCallersDecision() async throws {
    let extra = """
      routes:
        r: {candidates: [f/m]}
        other: {candidates: [f/m]}
      """
    try await BudgetStack.with(extra) { s in
      let first = try #require(await s.complete(request(id: "order-42")).ok)
      #expect(first.requestID != "order-42", "the daemon issues the request id")
      let intruder = try await SwitchboardClient.connect(socketPath: s.socket)
      let second = try await intruder.complete(request(route: "other", id: "order-42"))
      await intruder.close()
      #expect(second.requestID != first.requestID)
      #expect(try await s.explain(first.requestID).route == "r", "the first caller's row is unchanged")
      let both = try await s.decisions(correlation: "order-42")
      #expect(Set(both.map(\.requestID)) == [first.requestID, second.requestID])
      #expect(both.allSatisfy { $0.correlationID == "order-42" })
    }
  }

  /// Break 6: spend lives in the ledger's own store; a restart keeps it; a broken store stops the start.
  @Test func spendSurvivesARestartAndABrokenLedgerIsAStartupError() async throws {
    let dir = TestSupport.tempDir()
    let extra = """
      routes:
        r: {candidates: [f/m], budget: {per_route_daily_usd: {hard: 1}}}
      """
    var spentBefore: Int64 = 0
    try await BudgetStack.with(extra, dir: dir) { s in
      for _ in 0..<5 { _ = try #require(await s.complete(request()).ok) }
      spentBefore = try await s.health().budgets.first { $0.scope == "route:r" }?.spentMicroUsd ?? 0
      #expect(spentBefore > 0)
    }
    // The audit database's decision rows are not where spend comes from: delete them all.
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: dir + "/audit.sqlite" + suffix) }
    try await BudgetStack.with(extra, dir: dir) { s in
      let reloaded = try await s.health().budgets.first { $0.scope == "route:r" }?.spentMicroUsd
      #expect(reloaded == spentBefore)
    }
    // A corrupt ledger file: the daemon refuses to start, with a clear message.
    try (Data("this is not a database".utf8) + Data(repeating: 0xAB, count: 8192)).write(to: URL(fileURLWithPath: dir + "/audit.sqlite.ledger"))
    try? FileManager.default.removeItem(atPath: dir + "/audit.sqlite.ledger-wal")
    try? FileManager.default.removeItem(atPath: dir + "/audit.sqlite.ledger-shm")
    do {
      try await BudgetStack.with(extra, dir: dir) { _ in Issue.record("started on a corrupt ledger") }
    } catch {
      #expect("\(error)".contains("budget ledger"), "unclear startup error: \(error)")
    }
  }

  /// kill -9 of a real switchboardd with requests in flight: after the restart, spent is
  /// exactly what was settled and the dead calls' reservations are released.
  @Test func killNineKeepsSettledSpendExactlyAndReleasesDeadReservations() async throws {
    let daemonPath = TestSupport.repoRoot.appendingPathComponent(".build/debug/switchboardd").path
    try #require(FileManager.default.isExecutableFile(atPath: daemonPath))
    let fake = FakeProvider()
    try await fake.start()
    defer { Task { try? await fake.shutdown() } }
    let dir = TestSupport.tempDir()
    let socket = dir + "/k.sock"
    let extra = """
      routes:
        r: {candidates: [f/m], budget: {per_route_daily_usd: {hard: 100}}}
      """
    try BudgetStack.yaml(fake: fake, dir: dir, extra).write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
    func start() throws -> Process { try TestSupport.startDaemon(daemonPath, config: dir + "/c.yaml", socket: socket) }
    func connect() async throws -> SwitchboardClient { try await TestSupport.connectWhenUp(socket) }
    let first = try start()
    let client = try await connect()
    var settled: Int64 = 0
    for _ in 0..<20 { settled += try await client.complete(request()).totalSpendMicroUsd }
    // Four calls that will never finish hold reservations when the process dies.
    for _ in 0..<4 { fake.script(model: "m", .hang) }
    let hanging = Task {
      await withTaskGroup(of: Void.self) { g in
        for _ in 0..<4 { g.addTask { _ = try? await client.complete(request()) } }
      }
    }
    await TestSupport.eventually(timeout: .seconds(60)) { fake.attempts.count >= 24 }
    var h = Switchboard_V1_AdminRequest(); h.kind = .health(.init())
    let during = try await client.admin(h).health.budgets.first { $0.scope == "route:r" }
    #expect((during?.reservedMicroUsd ?? 0) > 0, "the hanging calls hold reservations")
    kill(first.processIdentifier, SIGKILL)
    await TestSupport.waitForExit(first)
    hanging.cancel()
    _ = await hanging.value

    let second = try start()
    let c2 = try await connect()
    let after = try await c2.admin(h).health.budgets.first { $0.scope == "route:r" }
    #expect(after?.spentMicroUsd == settled, "spent after kill -9 is exactly what was settled")
    #expect(after?.reservedMicroUsd == 0, "reservations of calls that died are released")
    await c2.close()
    kill(second.processIdentifier, SIGTERM)
    await TestSupport.waitForExit(second)
  }
}
