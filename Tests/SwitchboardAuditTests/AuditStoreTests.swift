import Foundation
import Testing
@testable import SwitchboardAudit
@testable import SwitchboardCore

@Suite("AuditStore")
struct AuditStoreTests {
  @Test("10,000 concurrent records give exactly 10,000 rows (prints the write rate)")
  func concurrentRecords() async throws {
    let path = EventFactory.tempDBPath()
    let store = try AuditStore(path: path, logger: EventFactory.logger)
    let n = 10_000
    let start = ContinuousClock.now
    await withTaskGroup(of: Void.self) { group in
      for i in 0..<n {
        group.addTask { await store.record(EventFactory.simple("c-\(i)", ts: EventFactory.day0 + Int64(i))) }
      }
    }
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let stats = store.statistics
    print("audit write rate (durable, synchronous=FULL, file): \(Int(Double(n) / seconds)) events/s;"
          + " \(n) events in \(String(format: "%.3f", seconds)) s, \(stats.batches) transactions")
    #expect(try await store.count() == n)
    #expect(stats.committedEvents == UInt64(n))
    #expect(stats.failedEvents == 0)
    #expect(stats.batches < UInt64(n))  // group commit: never one transaction per event
    #expect(try await store.event(requestID: "c-4242")?.timestampMs == EventFactory.day0 + 4242)
    await store.close()
  }

  @Test("non-durable mode returns at once and flush makes everything visible")
  func nonDurable() async throws {
    let store = try AuditStore(path: EventFactory.tempDBPath(), durableResponses: false, logger: EventFactory.logger)
    let n = 20_000
    let start = ContinuousClock.now
    await withTaskGroup(of: Void.self) { group in
      for i in 0..<n { group.addTask { await store.record(EventFactory.simple("nd-\(i)")) } }
    }
    await store.flush()
    let elapsed = ContinuousClock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print("audit write rate (non-durable, file, incl. flush): \(Int(Double(n) / seconds)) events/s")
    #expect(try await store.count() == n)
    await store.close()
  }

  @Test("non-durable mode is bounded: past maxQueuedEvents unwritten events, record waits for the commit")
  func nonDurableBackpressure() async throws {
    let limit = 10
    let store = try AuditStore(configuration: .init(path: EventFactory.tempDBPath(), durableResponses: false,
                                                    maxQueuedEvents: limit), logger: EventFactory.logger)
    var worst: UInt64 = 0
    for i in 0..<1_000 {
      await store.record(EventFactory.simple("bp-\(i)"))
      let s = store.statistics
      worst = max(worst, s.enqueued - s.completed)
    }
    #expect(worst <= UInt64(limit), "the queue grew to \(worst) unwritten events")
    await store.flush()
    #expect(try await store.count() == 1_000)
    await store.close()
  }

  @Test("after record returns (durable mode) the row is visible to an independently opened connection")
  func durableVisibility() async throws {
    let path = EventFactory.tempDBPath()
    let writer = try AuditStore(path: path, logger: EventFactory.logger)
    let reader = try AuditStore(path: path, logger: EventFactory.logger)
    for i in 0..<50 {
      let id = "d-\(i)"
      await writer.record(EventFactory.simple(id))
      // No flush: record's return is the promise.
      let seen = try await reader.event(requestID: id)
      #expect(seen?.requestID == id)
    }
    #expect(try await reader.count() == 50)
    await writer.close()
    await reader.close()
  }

  @Test("an event round-trips through JSON: attempts, candidates, costs; nil stays nil")
  func roundTrip() async throws {
    let store = try AuditStore(path: "", logger: EventFactory.logger)
    let rich = EventFactory.failedOver()
    var bare = EventFactory.simple("bare", outcome: .failed)
    bare.peerUID = nil
    bare.attempts[0].firstTokenMs = nil
    bare.attempts[0].costUSD = nil
    bare.candidates[0].score = nil
    await store.record(rich)
    await store.record(bare)
    #expect(try await store.event(requestID: rich.requestID) == rich)
    let back = try #require(try await store.event(requestID: "bare"))
    #expect(back == bare)
    #expect(back.costUSD == nil && back.baselineCostUSD == nil && back.costDeltaUSD == nil)
    #expect(back.chosenProvider == nil && back.peerUID == nil)
    #expect(back.attempts[0].costUSD == nil && back.attempts[0].firstTokenMs == nil)
    #expect(back.candidates[0].score == nil)
    #expect(try await store.event(requestID: "missing") == nil)
  }

  @Test("filters: time window, route, tenant, outcome, provider (served or attempted), limit, newest first")
  func filters() async throws {
    let store = try AuditStore(path: "", logger: EventFactory.logger)
    let t = EventFactory.day0
    await store.record(EventFactory.simple("a", ts: t + 1, tenant: "acme", route: "chat", provider: "groq"))
    await store.record(EventFactory.simple("b", ts: t + 2, tenant: "beta", route: "chat", outcome: .failed, provider: "openai"))
    await store.record(EventFactory.simple("c", ts: t + 3, tenant: "acme", route: "code", provider: "openai"))
    await store.record(EventFactory.failedOver("d", ts: t + 4))  // attempted groq, served by anthropic

    func ids(_ f: DecisionFilter) async throws -> [String] { try await store.events(filter: f).map(\.requestID) }
    #expect(try await ids(.init()) == ["d", "c", "b", "a"])
    #expect(try await ids(.init(order: .oldestFirst)) == ["a", "b", "c", "d"])
    #expect(try await ids(.init(limit: 2)) == ["d", "c"])
    #expect(try await ids(.init(sinceMs: t + 2, untilMs: t + 4)) == ["c", "b"])
    #expect(try await ids(.init(route: "chat")) == ["b", "a"])
    #expect(try await ids(.init(tenant: "acme")) == ["c", "a"])
    #expect(try await ids(.init(outcome: .failed)) == ["b"])
    #expect(try await ids(.init(provider: "groq")) == ["d", "a"])       // d only attempted groq
    #expect(try await ids(.init(provider: "anthropic")) == ["d"])
    #expect(try await ids(.init(provider: "openai")) == ["c", "b"])     // b failed on openai: attempted
    #expect(try await ids(.init(tenant: "acme", provider: "openai")) == ["c"])
    #expect(try await store.count() == 4)

    // Explain by id: the stored event renders.
    let d = try #require(try await store.event(requestID: "d"))
    #expect(DecisionExplainer.render(d).contains("Decision d"))

    // JSON Lines export.
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("sb-export-\(UUID().uuidString).jsonl")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    let handle = try FileHandle(forWritingTo: out)
    let written = try await store.exportJSONLines(filter: .init(route: "chat", limit: nil, order: .oldestFirst), to: handle)
    try handle.close()
    let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
    #expect(written == 2 && lines.count == 2)
    let decoded = try lines.map { try DecisionJSON.decode(String($0)) }
    #expect(decoded.map(\.requestID) == ["a", "b"])
  }

  @Test("prune removes by age and by row count, with attempt rows; no spend rows derived from decisions")
  func prune() async throws {
    let store = try AuditStore(path: "", logger: EventFactory.logger)
    let now = EventFactory.day0 + 10 * 86_400_000 + 1_000
    for d in 0..<10 {  // one decision per day, 10..1 days old
      await store.record(EventFactory.simple("old-\(d)", ts: now - Int64(10 - d) * 86_400_000))
    }
    for i in 0..<5 { await store.record(EventFactory.simple("new-\(i)", ts: now - 500 + Int64(i))) }  // today
    #expect(try await store.count() == 15)

    let byAge = try await store.prune(now: now, maxAgeDays: 3, maxRows: nil)
    #expect(byAge.decisionsByAge == 7)  // 10..4 days old
    #expect(byAge.ledgerRows == 0)      // spend lives in the ledger's own store now
    #expect(try await store.count() == 8)
    #expect(try await store.event(requestID: "old-6") == nil)
    #expect(try await store.event(requestID: "old-7") != nil)
    // Attempt rows went with their decisions: provider filter finds only survivors.
    #expect(try await store.events(filter: .init(provider: "groq", limit: nil)).count == 8)

    let byCount = try await store.prune(now: now, maxAgeDays: nil, maxRows: 4)
    #expect(byCount.decisionsByCount == 4)
    #expect(try await store.events(filter: .init(limit: nil)).map(\.requestID) == ["new-4", "new-3", "new-2", "new-1"])

    let zero = try await store.prune(now: now, maxAgeDays: 0, maxRows: nil)
    #expect(zero.decisionsByAge == 4)
    #expect(try await store.count() == 0)
  }

  @Test("a failed write is logged and counted, never hangs its request, and spares the rest of the batch")
  func writeFailure() async throws {
    let store = try AuditStore(path: EventFactory.tempDBPath(), logger: EventFactory.logger)
    try await store.executeOnWriterForTesting(sql: """
      CREATE TEMP TRIGGER poison BEFORE INSERT ON decision WHEN NEW.tenant = 'poison'
      BEGIN SELECT RAISE(ABORT, 'injected write failure'); END
      """)
    await withTaskGroup(of: Void.self) { group in
      for i in 0..<300 {
        group.addTask { await store.record(EventFactory.simple("w-\(i)", tenant: i % 100 == 7 ? "poison" : "acme")) }
      }
    }
    let stats = store.statistics
    #expect(stats.failedEvents == 3)
    #expect(stats.committedEvents == 297)
    #expect(try await store.count() == 297)
    #expect(try await store.event(requestID: "w-107") == nil)
    await store.close()
  }

  @Test("close drains the queue; a record after close is still written")
  func closeDrains() async throws {
    let store = try AuditStore(path: EventFactory.tempDBPath(), durableResponses: false, logger: EventFactory.logger)
    for i in 0..<1_000 { await store.record(EventFactory.simple("q-\(i)")) }
    await store.close()
    #expect(try await store.count() == 1_000)
    await store.record(EventFactory.simple("late"))
    #expect(try await store.event(requestID: "late") != nil)
    await store.flush()  // returns: nothing pending, writer gone
  }

  @Test("a repeated request id never replaces the first decision; the correlation id is searchable")
  func duplicateRequestID() async throws {
    let store = try AuditStore(path: "", logger: EventFactory.logger)
    var first = EventFactory.simple("dup", tenant: "acme", provider: "groq", spend: 1)
    first.correlationID = "client-1"
    await store.record(first)
    var second = EventFactory.simple("dup", tenant: "mallory", provider: "openai", spend: 2)
    second.correlationID = "client-1"
    await store.record(second)
    #expect(try await store.count() == 1)
    #expect(try await store.event(requestID: "dup")?.chosenProvider == "groq")
    #expect(try await store.event(requestID: "dup")?.tenant == "acme")
    #expect(try await store.events(filter: .init(correlationID: "client-1")).map(\.tenant) == ["acme"])
    #expect(store.statistics.failedEvents == 1)
  }
}
