import Foundation
import GRDB
import Testing
@testable import SwitchboardAudit
@testable import SwitchboardCore

/// Tags are stored with the decision in both stores and filter `decisions --tag K=V`.
@Suite("Audit store: tags and the one JSON shape")
struct AuditTagsTests {
  static func tagged(_ id: String, _ tags: [String: String]?, ts: Int64) -> DecisionEvent {
    var e = EventFactory.simple(id, ts: EventFactory.day0 + ts)
    e.tags = tags
    return e
  }

  static func fill(_ store: AuditStore) async {
    await store.record(tagged("a", ["team": "payments", "env": "prod"], ts: 1))
    await store.record(tagged("b", ["team": "payments", "env": "staging"], ts: 2))
    await store.record(tagged("c", ["team": "search", "env": "prod"], ts: 3))
    await store.record(tagged("d", nil, ts: 4))
    await store.record(tagged("e", ["team": "payments=x", "quote\"key": "v"], ts: 5))
  }

  static func ids(_ store: AuditStore, _ tags: [String: String]) async throws -> [String] {
    var f = DecisionFilter()
    f.tags = tags
    return try await store.events(filter: f).map(\.requestID)
  }

  @Test(arguments: ["memory", "sqlite"])
  func filterByTags(kind: String) async throws {
    let store = try AuditStore(path: kind == "memory" ? "" : EventFactory.tempDBPath(), logger: EventFactory.logger)
    await Self.fill(store)
    #expect(try await Self.ids(store, [:]) == ["e", "d", "c", "b", "a"])
    #expect(try await Self.ids(store, ["team": "payments"]) == ["b", "a"])
    #expect(try await Self.ids(store, ["team": "payments", "env": "prod"]) == ["a"], "every tag must match")
    #expect(try await Self.ids(store, ["env": "prod"]) == ["c", "a"])
    #expect(try await Self.ids(store, ["team": "payments=x"]) == ["e"], "a value may hold '='")
    #expect(try await Self.ids(store, ["quote\"key": "v"]) == ["e"])
    #expect(try await Self.ids(store, ["team": "nobody"]) == [])
    #expect(try await Self.ids(store, ["TEAM": "payments"]) == [], "keys are case-sensitive")
    // Tags combine with the other criteria.
    var f = DecisionFilter(sinceMs: EventFactory.day0 + 2)
    f.tags = ["team": "payments"]
    #expect(try await store.events(filter: f).map(\.requestID) == ["b"])
    // And come back with the event.
    #expect(try await store.event(requestID: "a")?.tags == ["team": "payments", "env": "prod"])
    await store.close()
  }

  @Test func retentionTakesTheTagRowsWithTheDecision() async throws {
    let path = EventFactory.tempDBPath()
    let store = try AuditStore(path: path, logger: EventFactory.logger)
    await Self.fill(store)
    _ = try await store.prune(now: EventFactory.day0, maxAgeDays: nil, maxRows: 2)
    let left = try await store.db.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM decision_tag") ?? -1 }
    #expect(left == 2, "only e's two tags remain (d has none)")
    await store.close()
  }

  /// A database written before tags and the snake_case shape: the migration adds the
  /// tag table, its rows still read, and `decisions --db` exports them in the new shape.
  @Test func aDatabaseFromBeforeTheMigrationOpensAndExportsTheNewShape() async throws {
    let path = EventFactory.tempDBPath()
    do {
      let queue = try DatabaseQueue(path: path)
      try AuditSchema.migrator.migrate(queue, upTo: "v2-correlation-micro-usd")
      let old = EventFactory.failedOver("old-1")
      let legacyEncoder = JSONEncoder()
      let legacy = String(decoding: try legacyEncoder.encode(old), as: UTF8.self)
      #expect(legacy.contains("\"requestID\"") && !legacy.hasPrefix("{\"request_id\""))
      try await queue.write { db in
        try db.execute(sql: """
          INSERT INTO decision (request_id, ts_ms, tenant, route, strategy, outcome, total_spend_usd, latency_ms, attempts, event_json)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          """, arguments: [old.requestID, old.timestampMs, old.tenant, old.route, old.strategy, old.outcome.rawValue,
                           old.totalSpendUSD, old.totalLatencyMs, 2, legacy])
      }
    }
    let store = try AuditStore(path: path, logger: EventFactory.logger)
    #expect(try await store.event(requestID: "old-1") == EventFactory.failedOver("old-1"))
    await store.record(Self.tagged("new-1", ["team": "payments"], ts: 86_400_000))
    #expect(try await Self.ids(store, ["team": "payments"]) == ["new-1"])

    let out = FileManager.default.temporaryDirectory.appendingPathComponent("sb-export-\(UUID().uuidString).jsonl")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    let handle = try FileHandle(forWritingTo: out)
    #expect(try await store.exportJSONLines(to: handle) == 2)
    try handle.close()
    let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").map(String.init)
    #expect(lines.count == 2)
    #expect(lines.allSatisfy { $0.hasPrefix("{\"request_id\":") }, "the old row is rewritten into the new shape")
    #expect(try DecisionJSON.decode(lines[0]) == EventFactory.failedOver("old-1"))
    let rows = try await store.eventsJSON(filter: .init(order: .oldestFirst))
    #expect(rows.map(\.json) == lines)
    await store.close()
  }

  @Test func theRingAccountsForTags() {
    var ring = AuditMemoryRing(budgetBytes: 1 << 20)
    let plain = Self.tagged("p", nil, ts: 1)
    var big = Self.tagged("t", nil, ts: 2)
    big.tags = Dictionary(uniqueKeysWithValues: (0..<16).map { ("key-\($0)", String(repeating: "v", count: 256)) })
    let plainBytes = AuditMemoryRing.accountedBytes(plain)
    let bigBytes = AuditMemoryRing.accountedBytes(big)
    // 16 × 256-byte values: each a heap string, counted at up to twice its length, plus the dictionary.
    #expect(bigBytes - plainBytes > 2 * 16 * 256)
    ring.record(big)
    #expect(ring.usedBytes == bigBytes)
  }
}
