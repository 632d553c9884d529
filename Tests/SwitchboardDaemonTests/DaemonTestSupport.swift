import Foundation
import SwitchboardClient
import SwitchboardCore
import SwitchboardDaemon
import SwitchboardWire

enum TestSupport {
  /// Starts the real `switchboardd` binary on `config` and `socket` (stderr discarded).
  static func startDaemon(_ daemonPath: String, config: String, socket: String) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: daemonPath)
    p.arguments = ["--config", config, "--socket", socket]
    p.standardError = FileHandle.nullDevice
    try p.run()
    return p
  }

  /// Connects to `socket` once a daemon listens there (up to 60 s: a debug daemon
  /// starting on a loaded 2-core CI machine took several seconds).
  static func connectWhenUp(_ socket: String) async throws -> SwitchboardClient {
    let deadline = ContinuousClock.now + .seconds(60)
    repeat {
      if let c = try? await SwitchboardClient.connect(socketPath: socket) { return c }
      try await Task.sleep(for: .milliseconds(25))
    } while ContinuousClock.now < deadline
    throw CancellationError()
  }

  /// Polls `condition` every 10 ms until it holds or `timeout` (wall time) passes;
  /// returns whether it held. A wait for a state, never a timing assertion: the
  /// bound is generous because a loaded CI machine can starve the process for
  /// seconds, and the caller still `#expect`s the state, so a broken mechanism fails.
  @discardableResult
  static func eventually(timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
      if try await condition() { return true }
      if ContinuousClock.now >= deadline { return false }
      try? await Task.sleep(for: .milliseconds(10))
    }
  }

  /// Attempts of `candidate` ("provider/model") running in `daemon` now (the router's stats board).
  static func attemptsInFlight(_ daemon: InProcessDaemon, _ candidate: String) -> Int {
    guard let ref = CandidateRef(parsing: candidate) else { return 0 }
    return daemon.runtime.router.stats.observation(ref).inFlight
  }

  /// Waits for `p` to exit on a GCD thread: `waitUntilExit()` blocks its thread, which
  /// does not belong on the concurrency pool the in-process daemons share.
  static func waitForExit(_ p: Process) async {
    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
      DispatchQueue.global().async { p.waitUntilExit(); c.resume() }
    }
  }

  static func tempDir() -> String {
    let dir = NSTemporaryDirectory() + "sbt-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
  }

  static let baseYAML = """
    listen: {socket: /tmp/unused.sock, max_in_flight_per_connection: 512}
    logging: {level: error}
    providers:
      fast: {kind: simulated, seed: 3, latency_ms: {p50: 2, p99: 5}}
      slow: {kind: simulated, seed: 4, latency_ms: {p50: 5000, p99: 6000}}
      bad: {kind: simulated, faults: [{error: provider_5xx, rate: 1.0}]}
    models:
      fast/m: {input: 1.0, output: 2.0, context: 32000, max_output: 4096, capabilities: [tools, streaming]}
      slow/m: {input: 1.0, output: 2.0, context: 32000, max_output: 4096, capabilities: [streaming]}
      bad/m: {input: 0.5, output: 1.0, context: 32000, max_output: 4096, capabilities: [streaming]}
    routes:
      default: {candidates: [fast/m]}
      slow: {candidates: [slow/m], timeouts: {attempt_ms: 20000, first_token_ms: 20000}}
      failover: {candidates: [bad/m, fast/m]}
    """

  static func request(route: String, _ text: String = "hello", stream: Bool = false) -> Switchboard_V1_CompletionRequest {
    var r = Switchboard_V1_CompletionRequest()
    r.route = route
    r.stream = stream
    var m = Switchboard_V1_Message(); m.role = .user; m.content = text
    r.messages = [m]
    return r
  }

  static func withDaemon<T>(yaml: String = baseYAML, auditPath: String? = nil, configPath: String? = nil,
                            _ body: (InProcessDaemon, String) async throws -> T) async throws -> T {
    let dir = tempDir()
    let socket = dir + "/s.sock"
    var text = yaml
    if let auditPath { text += "\naudit: {path: \"\(auditPath)\"}\n" }
    let daemon = try await InProcessDaemon.start(yaml: text, socketPath: socket, configPath: configPath)
    do {
      let r = try await body(daemon, socket)
      await daemon.stop()
      return r
    } catch {
      await daemon.stop()
      throw error
    }
  }

  static var repoRoot: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized }

  /// Runs a process and returns (status, stdout+stderr). The blocking wait runs on
  /// a GCD thread, not on the concurrency pool the daemons under test share.
  static func run(_ exe: String, _ args: [String]) async throws -> (Int32, String) {
    try await withCheckedThrowingContinuation { c in
      DispatchQueue.global().async {
        do {
          let p = Process()
          p.executableURL = URL(fileURLWithPath: exe)
          p.arguments = args
          let pipe = Pipe()
          p.standardOutput = pipe
          p.standardError = pipe
          try p.run()
          let data = pipe.fileHandleForReading.readDataToEndOfFile()
          p.waitUntilExit()
          c.resume(returning: (p.terminationStatus, String(decoding: data, as: UTF8.self)))
        } catch {
          c.resume(throwing: error)
        }
      }
    }
  }
}
