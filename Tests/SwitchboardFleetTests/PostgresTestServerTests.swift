import Foundation
import Testing
import SwitchboardTestKit

/// The throwaway server does not outlive the process that owns it: a test process
/// that crashed (or was killed by a CI timeout) used to leave its PostgreSQL running.
@Suite(.enabled(if: PostgresTestServer.isAvailable, "needs a PostgreSQL server (apt-get install -y postgresql)"))
struct PostgresTestServerTests {
  static func isGone(_ pid: pid_t) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
    // A zombie (exited, not yet reaped) is gone too.
    let state = stat.split(separator: ")").last?.split(separator: " ").first
    return state == "Z" || state == "X"
  }

  static func eventually(_ condition: () -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
      if condition() { return true }
      try await Task.sleep(for: .milliseconds(50))
    }
    return condition()
  }

  /// kill -9 of the owning process (here a child standing in for a test process:
  /// the server is bound to its pid): the server stops and its directory goes.
  @Test func theServerDiesWhenItsOwnerIsKilled() async throws {
    let owner = Process()
    owner.executableURL = URL(fileURLWithPath: "/bin/sleep")
    owner.arguments = ["600"]
    try owner.run()
    let server = try await PostgresTestServer.make(owner: owner.processIdentifier)
    defer { server.remove() }
    let pid = try #require(server.serverPID)
    #expect(!Self.isGone(pid), "the server runs")
    #expect(try server.psql("SELECT 1") == "1")
    // Alive while the owner lives (the watcher checks twice a second).
    try await Task.sleep(for: .seconds(1))
    #expect(!Self.isGone(pid), "the server outlived nothing yet")
    kill(owner.processIdentifier, SIGKILL)
    try await PostgresTestServer.offPool { owner.waitUntilExit() }
    #expect(try await Self.eventually { Self.isGone(pid) }, "the server \(pid) outlived its owner")
    #expect(try await Self.eventually { !FileManager.default.fileExists(atPath: server.dir) }, "its directory is removed")
  }

  static let childEnv = "SWITCHBOARD_PG_ORPHAN_CHILD"

  /// Child mode only when launched by `theServerDiesWhenTheTestProcessIsKilled`: starts a
  /// server, says where it is, and waits to be killed. Otherwise a no-op.
  @Test func pgOrphanChildServer() async throws {
    guard ProcessInfo.processInfo.environment[Self.childEnv] != nil else { return }
    let server = try await PostgresTestServer.make()
    FileHandle.standardOutput.write(Data("SERVER \(server.serverPID ?? 0) \(server.dir)\n".utf8))
    try await Task.sleep(for: .seconds(120))
  }

  /// The real case: this test binary run as a child starts a server the usual way
  /// (owned by itself) and is killed with SIGKILL: the server and its directory go.
  @Test func theServerDiesWhenTheTestProcessIsKilled() async throws {
    if ProcessInfo.processInfo.environment[Self.childEnv] != nil { return }  // we are the child
    let child = Process()
    child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    child.arguments = ["--testing-library", "swift-testing", "--filter", "pgOrphanChildServer"]
    var env = ProcessInfo.processInfo.environment
    env[Self.childEnv] = "1"
    child.environment = env
    let pipe = Pipe()
    child.standardOutput = pipe
    child.standardError = FileHandle.nullDevice
    try child.run()
    // Read until the child says where its server is, on a GCD thread: the reads block
    // for as long as the child takes to start PostgreSQL, and a `Task.detached` runs on
    // the concurrency pool (2 threads here), which starved parallel tests (streams cut
    // by a fake whose pacing tasks could not run were seen as stalls).
    let line = try await PostgresTestServer.offPool { () -> String in
      var text = ""
      let deadline = ContinuousClock.now + .seconds(120)
      while ContinuousClock.now < deadline {
        let chunk = pipe.fileHandleForReading.availableData
        if chunk.isEmpty { break }
        text += String(decoding: chunk, as: UTF8.self)
        if let l = text.split(separator: "\n").first(where: { $0.hasPrefix("SERVER ") }), text.contains("\n") { return String(l) }
      }
      return text
    }
    let parts = line.split(separator: " ")
    try #require(parts.count == 3 && parts[0] == "SERVER", "the child did not start a server: \(line)")
    let pid = try #require(pid_t(parts[1])), dir = String(parts[2])
    #expect(pid > 0 && !Self.isGone(pid), "the child's server runs")
    kill(child.processIdentifier, SIGKILL)
    try await PostgresTestServer.offPool { child.waitUntilExit() }
    #expect(child.terminationReason == .uncaughtSignal)
    let gone = try await Self.eventually { Self.isGone(pid) }
    if !gone { kill(pid, SIGKILL) }  // do not leave it behind even when the test fails
    #expect(gone, "the server \(pid) outlived the killed test process")
    #expect(try await Self.eventually { !FileManager.default.fileExists(atPath: dir) }, "its directory is removed")
  }

  /// Removed normally, the server goes at once and its watcher exits.
  @Test func removeStopsTheServerAndItsWatcher() async throws {
    let server = try await PostgresTestServer.make()
    let pid = try #require(server.serverPID)
    server.remove()
    #expect(Self.isGone(pid))
    #expect(!FileManager.default.fileExists(atPath: server.dir))
    // The watcher (`sh -c … watcher <owner> <dir> …`) leaves within a second.
    let watcherGone = try await Self.eventually {
      let procs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
      return !procs.contains { p in
        guard Int(p) != nil, let cmd = try? String(contentsOfFile: "/proc/\(p)/cmdline", encoding: .utf8) else { return false }
        return cmd.contains(server.dir)
      }
    }
    #expect(watcherGone)
  }
}
