import Synchronization
import Foundation
import SwitchboardAudit
import SwitchboardClient
import SwitchboardCore
import SwitchboardDaemon
import SwitchboardWire
import Testing

@Suite(.serialized) struct AuditThroughDaemonTests {
  @Test func tenThousandRequestsGiveTenThousandRows() async throws {
    let dir = TestSupport.tempDir()
    let db = dir + "/audit.sqlite"
    try await TestSupport.withDaemon(auditPath: db) { daemon, socket in
      let clients = try await withThrowingTaskGroup(of: SwitchboardClient.self) { g in
        for _ in 0..<4 { g.addTask { try await SwitchboardClient.connect(socketPath: socket) } }
        var out: [SwitchboardClient] = []
        for try await c in g { out.append(c) }
        return out
      }
      let ok = try await withThrowingTaskGroup(of: Int.self) { group in
        for w in 0..<64 {
          group.addTask {
            var n = 0
            for i in stride(from: w, to: 10_000, by: 64) {
              _ = try await clients[i % 4].complete(TestSupport.request(route: i % 10 == 0 ? "failover" : "default"))
              n += 1
            }
            return n
          }
        }
        return try await group.reduce(0, +)
      }
      #expect(ok == 10_000)
      await daemon.runtime.audit.flush()
      #expect(try await daemon.runtime.audit.count() == 10_000)
      for c in clients { await c.close() }
    }
  }

  @Test func decisionsExportReadsTheAuditFileWithoutADaemon() async throws {
    let cli = TestSupport.repoRoot.appendingPathComponent(".build/debug/switchboard").path
    try #require(FileManager.default.isExecutableFile(atPath: cli))
    let db = TestSupport.tempDir() + "/audit.sqlite"
    let ids = try await TestSupport.withDaemon(auditPath: db) { _, socket in
      let client = try await SwitchboardClient.connect(socketPath: socket)
      var ids: [String] = []
      for route in ["default", "failover", "default"] { ids.append(try await client.complete(TestSupport.request(route: route)).requestID) }
      await client.close()
      return ids
    }
    let (status, out) = try await TestSupport.run(cli, ["decisions", "--db", db, "--limit", "0"])
    #expect(status == 0, "\(out)")
    let lines = out.split(separator: "\n").filter { $0.hasPrefix("{") }
    #expect(lines.count == 3)
    let exported = try lines.map { line -> String in
      let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      return try #require(obj["request_id"] as? String)
    }
    #expect(exported == ids, "oldest first, every decision")
    let (_, filtered) = try await TestSupport.run(cli, ["decisions", "--db", db, "--limit", "0", "--route", "failover"])
    #expect(filtered.split(separator: "\n").filter { $0.hasPrefix("{") }.count == 1)
  }

  @Test func explainShowsTheFailureTheFallbackAndTheDelta() async throws {
    try await TestSupport.withDaemon { _, socket in
      let client = try await SwitchboardClient.connect(socketPath: socket)
      let r = try await client.complete(TestSupport.request(route: "failover"))
      // bad/m answers 503: one cheap same-candidate retry, then fail over to fast/m.
      #expect(r.attempts == 3)
      var a = Switchboard_V1_AdminRequest()
      var e = Switchboard_V1_ExplainRequest(); e.requestID = r.requestID
      a.kind = .explain(e)
      let x = try await client.admin(a).explain
      #expect(x.event.attempts.first?.reasonCode == "provider_5xx")
      #expect(x.event.attempts.first?.failureClass == "transient")
      #expect(x.event.attempts.count == 3)
      #expect(x.event.attempts[1].sameCandidateRetry && x.event.attempts[1].provider == "bad")
      #expect(x.event.attempts[2].outcome == "success" && x.event.attempts[2].provider == "fast")
      #expect(x.event.chosenProvider == "fast")
      #expect(x.event.baselineProvider == "bad")
      guard case .costDeltaUsd(let d)? = x.event.optCostDeltaUsd else { Issue.record("no delta"); return }
      #expect(d > 0, "fast/m is dearer than the bad/m baseline")
      #expect(x.text.contains("provider_5xx"))
      #expect(x.text.contains("fast/m"))
      await client.close()
    }
  }

  /// kill -9 of a real switchboardd under load: every answered request's row and
  /// the day's spend survive the restart.
  @Test func killNineLosesNoAnsweredRow() async throws {
    let daemonPath = TestSupport.repoRoot.appendingPathComponent(".build/debug/switchboardd").path
    try #require(FileManager.default.isExecutableFile(atPath: daemonPath))
    let dir = TestSupport.tempDir()
    let socket = dir + "/k.sock"
    let yaml = TestSupport.baseYAML + "\naudit: {path: \"\(dir)/audit.sqlite\"}\n"
    try yaml.write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
    func start() throws -> Process { try TestSupport.startDaemon(daemonPath, config: dir + "/c.yaml", socket: socket) }
    func connect() async throws -> SwitchboardClient { try await TestSupport.connectWhenUp(socket) }
    let first = try start()
    let client = try await connect()
    let answered = AnsweredIDs()
    let load = Task {
      await withTaskGroup(of: Void.self) { g in
        for _ in 0..<16 {
          g.addTask {
            while !Task.isCancelled {
              guard let r = try? await client.complete(TestSupport.request(route: "default")) else { return }
              answered.add(r.requestID, cost: r.costUsd)
            }
          }
        }
      }
    }
    // Kill mid-load once 60 calls were answered (a fixed 700 ms saw too few on a loaded
    // machine); the load keeps running, so calls are in flight when it dies.
    #expect(await TestSupport.eventually(timeout: .seconds(60)) { answered.all.count > 60 })
    kill(first.processIdentifier, SIGKILL)
    await TestSupport.waitForExit(first)
    load.cancel()
    _ = await load.value
    let ids = answered.all
    #expect(ids.count > 50)

    let second = try start()
    let c2 = try await connect()
    for id in ids.map(\.0) {
      var a = Switchboard_V1_AdminRequest()
      var e = Switchboard_V1_ExplainRequest(); e.requestID = id
      a.kind = .explain(e)
      let x = try await c2.admin(a)
      #expect(x.explain.event.requestID == id)
    }
    var h = Switchboard_V1_AdminRequest(); h.kind = .health(.init())
    let health = try await c2.admin(h).health
    let spent = health.budgets.first { $0.scope == "route:default" }?.spentUsd ?? 0
    let answeredSpend = ids.reduce(0.0) { $0 + $1.1 }
    #expect(spent >= answeredSpend - 1e-9, "spend after restart \(spent) < answered \(answeredSpend)")
    await c2.close()
    kill(second.processIdentifier, SIGTERM)
    await TestSupport.waitForExit(second)
    #expect(second.terminationStatus == 0)
    #expect(!FileManager.default.fileExists(atPath: socket))
  }
}

final class AnsweredIDs: Sendable {
  private let ids = Mutex<[(String, Double)]>([])
  func add(_ id: String, cost: Double) { ids.withLock { $0.append((id, cost)) } }
  var all: [(String, Double)] { ids.withLock { $0 } }
}
