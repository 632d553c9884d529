import Foundation
import Testing
@testable import SwitchboardAudit
@testable import SwitchboardCore
#if canImport(Glibc)
import Glibc
#endif

/// The in-memory ring keeps `DecisionEvent` values and writes their JSON only when
/// a query reads them. Two things must hold: the ring's byte accounting stays
/// conservative (it no longer measures a JSON string), and what the queries return
/// is exactly what an eager encoding — and the SQLite store — gives.
@Suite("AuditMemoryFootprint")
struct AuditMemoryFootprintTests {
  /// Every kind of decision the router writes: one attempt, failover with a retry
  /// and a rejected candidate, a hedge race, a tiered route with caps and tags.
  static func kinds() -> [DecisionEvent] {
    var tagged = EventFactory.simple("kind-tagged")
    tagged.tags = ["team": "payments", "feature": "summarise"]
    tagged.correlationID = "client-correlation-1"
    var populated = DecisionEventJSONTests.populated()
    populated.requestID = "kind-populated"
    var hedged = HedgeExplainTests.hedged()
    hedged.requestID = "kind-hedged"
    return [EventFactory.simple("kind-simple"), EventFactory.simple("kind-failed", outcome: .failed),
            EventFactory.failedOver("kind-failover"), hedged, populated, tagged]
  }

  /// `e` with every string replaced by a unique one too long to be stored inline
  /// and every array its own copy: the most heap an event of this shape can own.
  static func unique(_ e: DecisionEvent, _ i: Int) -> DecisionEvent {
    func u(_ s: String) -> String { "\(s)#\(i)-unique-heap-string" }
    func u(_ s: String?) -> String? { s.map { u($0) } }
    func ua(_ a: AttemptRecord) -> AttemptRecord {
      var a = a
      a.provider = u(a.provider); a.model = u(a.model); a.keyFingerprint = u(a.keyFingerprint); a.message = u(a.message)
      a.timeoutFired = u(a.timeoutFired); a.chargedScopes = a.chargedScopes?.map { u($0) }
      return a
    }
    var e = e
    e.requestID = u(e.requestID); e.tenant = u(e.tenant); e.route = u(e.route); e.strategy = u(e.strategy)
    e.message = u(e.message); e.chosenProvider = u(e.chosenProvider); e.chosenModel = u(e.chosenModel)
    e.baselineProvider = u(e.baselineProvider); e.baselineModel = u(e.baselineModel)
    e.correlationID = u(e.correlationID); e.subTenant = u(e.subTenant); e.stateBackend = u(e.stateBackend)
    e.traceID = u(e.traceID)
    e.candidates = e.candidates.map { c in
      var c = c
      c.provider = u(c.provider); c.model = u(c.model); c.detail = u(c.detail)
      return c
    }
    e.attempts = e.attempts.map(ua)
    e.budgetScopes = e.budgetScopes.map { u($0) }
    e.warnings = e.warnings.map { u($0) }
    e.caps = e.caps?.map { c in
      var c = c
      c.scope = u(c.scope); c.window = u(c.window); c.period = u(c.period)
      return c
    }
    if var t = e.tier {
      t.tier = u(t.tier); t.rule = u(t.rule); t.ruleDetail = u(t.ruleDetail); t.routerTier = u(t.routerTier)
      t.routerReason = u(t.routerReason); t.routerAttempts = t.routerAttempts.map(ua); t.excluded = t.excluded.map { u($0) }
      e.tier = t
    }
    e.tags = e.tags.map { Dictionary(uniqueKeysWithValues: $0.map { (u($0.key), u($0.value)) }) }
    if var h = e.hedge {
      h.refused = h.refused.map { u($0) }
      e.hedge = h
    }
    return e
  }

  #if os(Linux) && arch(x86_64)
  /// Bytes the allocator has handed out and not taken back (glibc `mallinfo2`:
  /// `uordblks + hblkhd`, summed over all arenas). Called through `dlsym`: the
  /// struct comes back through the hidden result pointer of the x86-64 ABI.
  static func heapInUse() -> Int? {
    guard let sym = dlsym(nil, "mallinfo2") else { return nil }  // nil: RTLD_DEFAULT
    typealias MallInfo2 = @convention(c) (UnsafeMutableRawPointer) -> UnsafeMutableRawPointer?
    let fn = unsafeBitCast(sym, to: MallInfo2.self)
    var fields = [Int](repeating: 0, count: 10)
    fields.withUnsafeMutableBytes { _ = fn($0.baseAddress!) }
    return fields[7] + fields[4]
  }
  #else
  static func heapInUse() -> Int? { nil }
  #endif

  @Test("the ring's accounted bytes cover what the allocator holds for its events (every string unique)")
  func accountingIsConservative() throws {
    let kinds = Self.kinds()
    let n = 6_000
    // The heap count is process-wide and other tests allocate and free meanwhile, so
    // five trials: an accounting below the real footprint shows in every trial (the
    // least must still fit), an absurdly high one even against the most noise (the
    // greatest must be over a third of it).
    var trials: [(held: Int, accounted: Int)] = []
    for _ in 0..<5 {
      guard let before = Self.heapInUse() else { return }  // no glibc: nothing to measure against
      var ring = AuditMemoryRing(budgetBytes: 1 << 30)
      for i in 0..<n { ring.record(Self.unique(kinds[i % kinds.count], i)) }
      let held = (Self.heapInUse() ?? 0) - before
      #expect(ring.count == n)
      trials.append((held, ring.usedBytes))
      withExtendedLifetime(ring) {}
    }
    let least = try #require(trials.filter { $0.held > 0 }.min { $0.held < $1.held }, "no trial measured a heap: \(trials)")
    let most = try #require(trials.max { $0.held < $1.held })
    #expect(least.held <= least.accounted, "allocator holds \(least.held) bytes, ring accounts \(least.accounted)")
    // And not absurdly so: the budget should still buy a comparable number of decisions.
    #expect(most.accounted < 3 * most.held, "allocator holds \(most.held) bytes, ring accounts \(most.accounted)")
  }

  @Test("a full ring stays within its budget for every kind of decision")
  func withinBudgetForEveryKind() {
    var ring = AuditMemoryRing(budgetBytes: 256 * 1024)
    let kinds = Self.kinds()
    for i in 0..<5_000 {
      ring.record(Self.unique(kinds[i % kinds.count], i))
      #expect(ring.usedBytes <= ring.budgetBytes)
    }
    #expect(ring.evicted > 0 && ring.count > 20)
  }

  @Test("lazily encoded JSON is the eager encoding and the SQLite store's, for every kind of decision")
  func lazyEqualsEager() async throws {
    let memory = try AuditStore(configuration: .init(path: ""), logger: EventFactory.logger)
    let file = try AuditStore(path: EventFactory.tempDBPath(), logger: EventFactory.logger)
    let kinds = Self.kinds().enumerated().map { i, e in
      var e = e
      e.timestampMs = EventFactory.day0 + Int64(i)
      return e
    }
    for e in kinds {
      await memory.record(e)
      await file.record(e)
    }
    let eager = kinds.map(DecisionEventJSON.encode)
    let all = DecisionFilter(limit: nil, order: .oldestFirst)
    let fromMemory = try await memory.eventsJSON(filter: all)
    let fromFile = try await file.eventsJSON(filter: all)
    #expect(fromMemory.map(\.json) == eager)
    #expect(fromFile.map(\.json) == eager)
    // The events read back are the ones a file store decodes (compared by their JSON: one has a NaN).
    #expect(fromMemory.map { DecisionEventJSON.encode($0.event) } == fromFile.map { DecisionEventJSON.encode($0.event) })
    for e in kinds {
      let m = try #require(try await memory.event(requestID: e.requestID))
      let f = try #require(try await file.event(requestID: e.requestID))
      #expect(DecisionEventJSON.encode(m) == DecisionEventJSON.encode(f))
      #expect(DecisionEventJSON.encode(m) == DecisionEventJSON.encode(e))
    }
    #expect(try await memory.events(filter: all).map(DecisionEventJSON.encode) == eager)
    // Filters see the same decisions in both stores.
    for f in [DecisionFilter(provider: "anthropic", limit: nil), DecisionFilter(outcome: .failed, limit: nil),
              DecisionFilter(limit: 2), DecisionFilter(correlationID: "client-correlation-1")] {
      #expect(try await memory.eventsJSON(filter: f).map(\.json) == file.eventsJSON(filter: f).map(\.json))
    }
    var tagFilter = DecisionFilter(limit: nil)
    tagFilter.tags = ["team": "payments"]
    #expect(try await memory.eventsJSON(filter: tagFilter).map(\.json) == file.eventsJSON(filter: tagFilter).map(\.json))
    // JSON Lines export: byte for byte.
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sb-lazy-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    var exported: [Data] = []
    for store in [memory, file] {
      let url = dir.appendingPathComponent("\(exported.count).jsonl")
      FileManager.default.createFile(atPath: url.path, contents: nil)
      let handle = try FileHandle(forWritingTo: url)
      #expect(try await store.exportJSONLines(to: handle) == kinds.count)
      try handle.close()
      exported.append(try Data(contentsOf: url))
    }
    #expect(exported[0] == exported[1])
    #expect(exported[0] == Data(eager.map { $0 + "\n" }.joined().utf8))
    await memory.close()
    await file.close()
  }
}
