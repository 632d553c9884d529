import Foundation
import Testing
@testable import SwitchboardAudit
@testable import SwitchboardCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Crash safety: a child process (this test binary, re-run with an environment variable
/// that switches `crashChildWriter` into writer mode) records events in durable mode and
/// prints each id after `record` returns; the parent SIGKILLs it mid-stream and checks
/// that every printed id is in the database.
@Suite("AuditStore crash safety")
struct AuditStoreCrashTests {
  static let childEnv = "SWITCHBOARD_AUDIT_CRASH_CHILD_DB"
  static let marker = "RECORDED "

  /// Writer mode only when launched by `killedWriterLosesNoAcknowledgedEvent`; otherwise a no-op.
  @Test func crashChildWriter() async throws {
    guard let path = ProcessInfo.processInfo.environment[Self.childEnv] else { return }
    let store = try AuditStore(path: path, logger: EventFactory.logger)
    let out = FileHandle.standardOutput
    let deadline = ContinuousClock.now + .seconds(60)  // never outlive a parent that died
    await withTaskGroup(of: Void.self) { group in
      for worker in 0..<16 {
        group.addTask {
          var i = 0
          while ContinuousClock.now < deadline {
            let id = "crash-\(worker)-\(i)"
            await store.record(EventFactory.simple(id, ts: EventFactory.day0 + Int64(i)))
            // One write(2) per line, after record returned: unbuffered, atomic on a pipe.
            out.write(Data((Self.marker + id + "\n").utf8))
            i += 1
          }
        }
      }
    }
  }

  @Test("a SIGKILLed durable writer loses no event whose record() returned")
  func killedWriterLosesNoAcknowledgedEvent() async throws {
    if ProcessInfo.processInfo.environment[Self.childEnv] != nil { return }  // we are the child
    let path = EventFactory.tempDBPath()
    let child = Process()
    child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    #if canImport(Darwin)
    child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    #endif
    child.arguments = ["--testing-library", "swift-testing", "--filter", "crashChildWriter"]
    var env = ProcessInfo.processInfo.environment
    env[Self.childEnv] = path
    child.environment = env
    let pipe = Pipe()
    child.standardOutput = pipe
    child.standardError = FileHandle.nullDevice
    try child.run()

    let reader = pipe.fileHandleForReading
    let acknowledged = try await Task.detached { () throws -> (ids: Set<String>, beforeKill: Int) in
      var buffer = Data()
      var ids = Set<String>()
      func drain() {
        while let nl = buffer.firstIndex(of: 0x0A) {
          let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
          buffer.removeSubrange(buffer.startIndex...nl)
          if line.hasPrefix(Self.marker) { ids.insert(String(line.dropFirst(Self.marker.count))) }
        }
      }
      let deadline = ContinuousClock.now + .seconds(120)
      // Let it write a few thousand events, then kill it mid-stream.
      while ids.count < 3_000, ContinuousClock.now < deadline {
        let chunk = reader.availableData
        if chunk.isEmpty { break }  // child exited on its own
        buffer.append(chunk)
        drain()
      }
      let beforeKill = ids.count
      kill(child.processIdentifier, SIGKILL)
      // Lines already in the pipe were printed before the kill: they count too.
      while true {
        let chunk = reader.availableData
        if chunk.isEmpty { break }
        buffer.append(chunk)
        drain()
      }
      child.waitUntilExit()
      return (ids, beforeKill)
    }.value

    #expect(child.terminationReason == .uncaughtSignal, "the child must have been killed, not have exited")
    #expect(acknowledged.beforeKill >= 3_000, "the child wrote too few events before the deadline")

    let store = try AuditStore(path: path, logger: EventFactory.logger)
    let stored = Set(try await store.events(filter: .init(limit: nil)).map(\.requestID))
    let missing = acknowledged.ids.subtracting(stored)
    print("crash test: \(acknowledged.ids.count) acknowledged, \(stored.count) stored after SIGKILL, \(missing.count) missing")
    #expect(missing.isEmpty, "acknowledged but lost: \(missing.prefix(10))")
    #expect(stored.count >= acknowledged.ids.count)
    await store.close()
  }
}
