import Foundation
import Testing
@testable import SwitchboardAudit
@testable import SwitchboardCore

@Test func tmpBench() async throws {
  let events = (0..<10_000).map { EventFactory.simple("b-\($0)") }
  let enc = DecisionRowWriter.makeEncoder()
  var t = ContinuousClock.now
  var encoded: [EncodedDecision] = []
  for e in events { encoded.append(try DecisionRowWriter.encode(e, with: enc)) }
  print("encode: \(ContinuousClock.now - t)")
  let plain = JSONEncoder()
  t = ContinuousClock.now
  for e in events { _ = try plain.encode(e) }
  print("encode plain: \(ContinuousClock.now - t)")
  let rows = encoded
  for (name, cfg) in [("memory", AuditStoreConfiguration()), ("normal", AuditStoreConfiguration(path: EventFactory.tempDBPath(), synchronous: .normal)), ("full", AuditStoreConfiguration(path: EventFactory.tempDBPath()))] {
    let store = try AuditStore(configuration: cfg, logger: EventFactory.logger)
    t = ContinuousClock.now
    for chunk in stride(from: 0, to: rows.count, by: 256) {
      let part = Array(rows[chunk..<min(chunk+256, rows.count)])
      try await store.db.write { db in for d in part { try DecisionRowWriter.insert(d, db) } }
    }
    print("insert \(name): \(ContinuousClock.now - t)")
  }
  t = ContinuousClock.now
  await withTaskGroup(of: Void.self) { g in for i in 0..<10_000 { g.addTask { _ = i } } }
  print("tasks: \(ContinuousClock.now - t)")
}
