import Foundation
import Testing
@testable import SwitchboardAudit
@testable import SwitchboardCore

/// The in-memory store is a ring bounded by a byte budget (issue: it kept up to
/// `retention_max_rows` events and grew ~2 KB per request without a bound).
@Suite("AuditMemoryRing")
struct AuditMemoryRingTests {
  static func store(budget: Int) throws -> AuditStore {
    try AuditStore(configuration: .init(path: "", memoryBudgetBytes: budget), logger: EventFactory.logger)
  }

  @Test("100,000 decisions into a 1 MiB ring: accounted bytes stay within the budget, the newest are kept")
  func boundedByBudget() async throws {
    let budget = 1 << 20
    let store = try Self.store(budget: budget)
    let n = 100_000
    var peak = 0
    for i in 0..<n {
      await store.record(EventFactory.simple("r-\(i)", ts: EventFactory.day0 + Int64(i)))
      if i % 997 == 0 { peak = max(peak, store.memoryUsage?.bytes ?? .max) }
    }
    let usage = try #require(store.memoryUsage)
    #expect(peak <= budget && usage.bytes <= budget)
    let kept = try await store.count()
    #expect(kept == usage.decisions)
    // A one-attempt event is ~1.5 KB accounted: the ring holds hundreds, not 100,000.
    #expect(kept > 300 && kept < 2_000, "kept \(kept)")
    #expect(store.statistics.evictedEvents == UInt64(n - kept))
    #expect(try await store.event(requestID: "r-\(n - 1)") != nil)
    #expect(try await store.event(requestID: "r-\(n - kept)") != nil)
    #expect(try await store.event(requestID: "r-\(n - kept - 1)") == nil)
    #expect(try await store.event(requestID: "r-0") == nil)
    // Queries see exactly the survivors, newest first.
    let newest = try await store.events(filter: .init(limit: 3)).map(\.requestID)
    #expect(newest == ["r-\(n - 1)", "r-\(n - 2)", "r-\(n - 3)"])
    #expect(try await store.events(filter: .init(limit: nil)).count == kept)
    await store.close()
  }

  @Test("a flood of one reused request id keeps one decision and stays within the budget")
  func reusedIDFlood() throws {
    var ring = AuditMemoryRing(budgetBytes: 256 * 1024)
    for i in 0..<50_000 {
      let e = EventFactory.simple("same", ts: EventFactory.day0 + Int64(i))
      ring.record(e)
      #expect(ring.usedBytes <= ring.budgetBytes)
    }
    #expect(ring.count == 1)
    let json = try #require(ring.json(requestID: "same"))
    let back = try DecisionRowWriter.makeDecoder().decode(DecisionEvent.self, from: Data(json.utf8))
    // The first decision stays (ids are the key; a reuse cannot change it), as in the SQLite store.
    #expect(back.timestampMs == EventFactory.day0)
    #expect(ring.json(matching: .init(limit: nil)).count == 1)
  }

  @Test("correlation ids are searchable in the ring, as in the SQLite store")
  func correlationSearch() throws {
    var ring = AuditMemoryRing(budgetBytes: 256 * 1024)
    var a = EventFactory.simple("a"); a.correlationID = "client-1"
    var b = EventFactory.simple("b"); b.correlationID = "client-2"
    ring.record(a)
    ring.record(b)
    #expect(ring.json(matching: .init(correlationID: "client-2")).count == 1)
    #expect(ring.json(matching: .init(correlationID: "nobody")).isEmpty)
  }

  @Test("a decision larger than the whole budget is still kept (alone) and the next one evicts it")
  func oversizedDecision() throws {
    var ring = AuditMemoryRing(budgetBytes: 64 * 1024)
    var big = EventFactory.simple("big")
    big.message = String(repeating: "x", count: 100_000)
    ring.record(big)
    #expect(ring.count == 1 && ring.json(requestID: "big") != nil)
    let small = EventFactory.simple("small")
    ring.record(small)
    #expect(ring.json(requestID: "big") == nil && ring.count == 1)
    #expect(ring.usedBytes <= ring.budgetBytes)
  }
}
