import Foundation
import SwitchboardClient
import SwitchboardWire
import Testing
@testable import SwitchboardDaemon

/// `SWITCHBOARD_EXECUTOR` and the event-loop sizing, without installing anything
/// (installing is for switchboardd's main only).
@Suite("Concurrency executor choice")
struct ConcurrencyExecutorTests {
  @Test func theVariableChoosesAndAnUnknownValueIsRejected() {
    let cases: [([String: String], ConcurrencyExecutor?)] = [
      ([:], .nio),
      (["SWITCHBOARD_EXECUTOR": "nio"], .nio),
      (["SWITCHBOARD_EXECUTOR": "NIO"], .nio),
      (["SWITCHBOARD_EXECUTOR": "cooperative"], .cooperative),
      (["SWITCHBOARD_EXECUTOR": "default"], nil),
      (["SWITCHBOARD_EXECUTOR": "threads"], nil),
    ]
    for (environment, expected) in cases {
      #expect(ConcurrencyExecutor.chosen(in: environment) == expected, "\(environment)")
    }
  }

  @Test func theAffinityMaskIsReadAndTheNIOVariableWins() {
    #if os(Linux)
    let allowed = EventLoopSizing.allowedCPUs()
    #expect((allowed ?? 0) >= 1)
    #endif
    #expect(EventLoopSizing.matchCPUAffinity(environment: ["NIO_SINGLETON_GROUP_LOOP_COUNT": "3"]) == nil)
  }

  /// The real `switchboardd` on each executor: it logs which one runs, serves
  /// concurrent unary calls, streams and fail-overs, cancels a call on request, and
  /// drains on SIGTERM with exit status 0.
  @Test(arguments: ["nio", "cooperative"])
  func theRealDaemonServesCancelsAndDrainsOnEitherExecutor(_ executor: String) async throws {
    let daemonPath = TestSupport.repoRoot.appendingPathComponent(".build/debug/switchboardd").path
    try #require(FileManager.default.isExecutableFile(atPath: daemonPath))
    let dir = TestSupport.tempDir()
    let socket = dir + "/e.sock", log = dir + "/stderr.log"
    try TestSupport.baseYAML.replacingOccurrences(of: "level: error", with: "level: notice")
      .write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
    FileManager.default.createFile(atPath: log, contents: nil)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: daemonPath)
    p.arguments = ["--config", dir + "/c.yaml", "--socket", socket]
    var environment = ProcessInfo.processInfo.environment
    environment["SWITCHBOARD_EXECUTOR"] = executor
    p.environment = environment
    p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
    p.standardOutput = FileHandle.nullDevice
    try p.run()
    defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
    let client = try await TestSupport.connectWhenUp(socket)

    let served = try await withThrowingTaskGroup(of: String.self, returning: [String].self) { g in
      for i in 0..<80 {
        g.addTask {
          if (64..<72).contains(i) {
            let (_, frames) = try await client.stream(TestSupport.request(route: "default", stream: true))
            var chunks = 0
            for try await f in frames {
              if case .completionChunk = f.body { chunks += 1 }
              if case .completionResponse(let r) = f.body { return chunks > 0 ? "stream \(r.provider)" : "stream without chunks" }
              if case .status(let s) = f.body { return "stream status \(s.reasonCode)" }
            }
            return "stream cut"
          }
          let r = try await client.complete(TestSupport.request(route: i < 64 ? "default" : "failover"))
          return (i < 64 ? "unary " : "failover ") + r.provider
        }
      }
      var out: [String] = []
      for try await s in g { out.append(s) }
      return out
    }
    #expect(served.filter { $0 == "unary fast" }.count == 64, "\(Set(served))")
    #expect(served.filter { $0 == "stream fast" }.count == 8, "\(Set(served))")
    #expect(served.filter { $0 == "failover fast" }.count == 8, "\(Set(served))")

    // A slow call, cancelled by the client: CANCELLED, not an answer.
    let (id, frames) = try await client.stream(TestSupport.request(route: "slow", stream: true))
    try await client.cancel(id)
    var terminal: Switchboard_V1_Status?
    for try await f in frames { if case .status(let s) = f.body { terminal = s } }
    #expect(terminal?.code == .cancelled)

    kill(p.processIdentifier, SIGTERM)
    await TestSupport.waitForExit(p)
    #expect(p.terminationStatus == 0)
    let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    #expect(text.contains("executor=\(executor)"), "the start line names the executor")
    await client.close()
  }
}
