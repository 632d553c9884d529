import Foundation
import Logging
import Synchronization
import SwitchboardClient
import SwitchboardWire

/// Log lines captured from an in-process daemon (message and metadata rendered).
final class LogCapture: Sendable {
  let lines = Mutex<[String]>([])
  var text: String { lines.withLock { $0.joined(separator: "\n") } }
  var logger: Logger {
    Logger(label: "capture") { _ in CapturingHandler(capture: self) }
  }
  struct CapturingHandler: LogHandler {
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
      get { metadata[key] }
      set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
      let md = (metadata.merging(event.metadata ?? [:]) { $1 }).map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " ")
      capture.lines.withLock { $0.append("\(event.level) \(event.message) \(md)") }
    }
  }
}

/// The `switchboardd` binary run as a child process, its stderr in a file.
final class DaemonProcess {
  let process = Process()
  let dir: String
  let socket: String
  let logPath: String
  var pid: Int32 { process.processIdentifier }

  /// `$SWITCHBOARDD` (e.g. an older build, to show a test fails on it), else this build's.
  static var binary: String {
    if let b = ProcessInfo.processInfo.environment["SWITCHBOARDD"], !b.isEmpty { return b }
    return TestSupport.repoRoot.appendingPathComponent(".build/debug/switchboardd").path
  }
  static var available: Bool { FileManager.default.isExecutableFile(atPath: binary) }

  /// Starts the daemon on `yaml` and waits until its socket answers.
  init(yaml: String) async throws {
    dir = TestSupport.tempDir()
    socket = dir + "/d.sock"
    logPath = dir + "/stderr.log"
    let config = dir + "/c.yaml"
    try yaml.write(toFile: config, atomically: true, encoding: .utf8)
    _ = FileManager.default.createFile(atPath: logPath, contents: nil)
    process.executableURL = URL(fileURLWithPath: Self.binary)
    process.arguments = ["--config", config, "--socket", socket]
    process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    // Up to 60 s: a debug daemon starting on a loaded 2-core machine can take seconds.
    let deadline = ContinuousClock.now + .seconds(60)
    while ContinuousClock.now < deadline {
      if SocketFile.isLive(path: socket) { return }
      if !process.isRunning { break }
      try await Task.sleep(for: .milliseconds(10))
    }
    kill(process.processIdentifier, SIGKILL)
    throw CLIFailure("daemon did not start: \(log)")
  }

  var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

  /// SIGTERM, then waits (off the concurrency pool) for the exit.
  func terminate() async -> (reason: Process.TerminationReason, status: Int32) {
    kill(pid, SIGTERM)
    return await waitForExit()
  }

  func waitForExit() async -> (reason: Process.TerminationReason, status: Int32) {
    let p = process
    return await withCheckedContinuation { c in
      DispatchQueue.global().async {
        p.waitUntilExit()
        c.resume(returning: (p.terminationReason, p.terminationStatus))
      }
    }
  }

  deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
}

struct CLIFailure: Error, CustomStringConvertible {
  var description: String
  init(_ d: String) { description = d }
}

/// The protobuf-free hostile client (`Drivers/hostile_client.py`).
enum HostileClient {
  static var source: String {
    TestSupport.repoRoot.appendingPathComponent("Tests/SwitchboardDaemonTests/Drivers/hostile_client.py").path
  }

  /// Runs a mode and returns its JSON summary; `asNobody` runs it as uid 65534 via setpriv.
  static func run(_ args: [String], asNobody: Bool = false) async throws -> [String: Any] {
    let dir = TestSupport.tempDir()
    let script = dir + "/hostile_client.py"
    try FileManager.default.copyItem(atPath: source, toPath: script)
    chmod(dir, 0o755); chmod(script, 0o644)
    let (status, out): (Int32, String)
    if asNobody {
      (status, out) = try await TestSupport.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", script] + args)
    } else {
      (status, out) = try await TestSupport.run("/usr/bin/python3", [script] + args)
    }
    guard status == 0, let last = out.split(separator: "\n").last,
      let obj = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
    else { throw CLIFailure("hostile client \(args.first ?? "") failed (\(status)): \(out)") }
    return obj
  }
}

/// 256 MiB, the sidecar's Kubernetes memory limit.
let sidecarMemoryLimit = 256 * 1024 * 1024
