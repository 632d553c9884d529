import Foundation
import Testing
@testable import SwitchboardAudit
@testable import SwitchboardCore

@Suite struct DecisionEventJSONTests {
  /// Every optional set, awkward strings and numbers: the hand-written writer must
  /// produce the same document as Foundation's encoder.
  static func populated() -> DecisionEvent {
    var e = EventFactory.failedOver()
    e.peerUID = 1000
    e.outcome = .failed
    e.statusCode = .unavailable
    e.reason = .provider5xx
    e.message = "quote \" backslash \\ newline \n tab \t control \u{01} unicode é 🚀 slash /"
    e.attempts[0].retryAfterMs = 1500.25
    e.attempts[0].firstTokenMs = 12.5
    e.attempts[0].httpStatus = 503
    e.attempts[1].costUSD = 1e-7
    e.candidates[2].score = .infinity
    e.costDeltaUSD = -0.0019
    e.baselineCostUSD = .nan
    e.totalLatencyMs = 123456789.125
    e.warnings = ["a", "b\"c"]
    e.correlationID = "client \"id\""
    e.subTenant = "team-a"
    e.totalSpendMicroUSD = 3_100
    e.costMicroUSD = 3_000
    e.overageMicroUSD = 12
    e.traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
    e.attempts[0].reservedMicroUSD = 5_000
    e.attempts[0].chargedMicroUSD = 100
    e.attempts[0].overageMicroUSD = 12
    e.attempts[0].chargedScopes = ["route:chat@daily", "tenant:acme@monthly"]
    e.candidates[0].worstCaseMicroUSD = 5_000
    e.attempts[1].timeoutFired = "attempt_ms"
    e.attempts[1].timeoutLimitMs = 8_000
    // Tag keys are the client's: never case-converted, escaped where needed.
    e.tags = ["team": "payments", "requestID": "kept as is", "snake_key": "v", "quote\"key": "back\\slash é"]
    e.costCapUSD = 0.008
    e.latencySLAMs = 1500
    e.attempts[0].hedgeLost = true
    e.attempts[1].hedge = true
    e.attempts[1].hedgeOf = 1
    e.hedge = HedgeRecord(delayMs: 412.5, started: 1, winnerAttempt: 2, winnerIsHedge: true, extraCostMicroUSD: 100,
                          refused: ["budget_violation", "a \"quoted\" code"])
    e.caps = [BudgetCapRecord(BudgetSnapshot(scope: "tenant:acme", window: "monthly", period: "2026-01", spent: MicroUSD(10),
                                             reserved: MicroUSD(5), limit: BudgetLimit(soft: MicroUSD(20), hard: MicroUSD(30)))),
              BudgetCapRecord(BudgetSnapshot(scope: "route:chat", window: "daily", period: "2026-01-01", spent: .zero,
                                             reserved: .zero, limit: BudgetLimit()))]
    var tier = TierDecisionRecord(tier: "deep", source: .router, reason: .tierRouter)
    tier.rule = "rules[0]"
    tier.ruleDetail = "input_tokens 9 >= 1"
    tier.routerTier = "deep"
    tier.routerReason = "needs \"care\" \u{01}"
    tier.routerAttempts = [e.attempts[0]]
    tier.routerLatencyMs = 12.5
    tier.routerCostMicroUSD = 7
    tier.excluded = ["a/m"]
    e.tier = tier
    return e
  }

  /// The encoder the store used before the snake_case shape (Swift's own camelCase names).
  static func legacyEncoder() -> JSONEncoder {
    let e = JSONEncoder()
    e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return e
  }

  func parsed(_ s: String) throws -> NSDictionary {
    try #require(try JSONSerialization.jsonObject(with: Data(s.utf8)) as? NSDictionary)
  }

  @Test func sameDocumentAsJSONEncoder() throws {
    for event in [Self.populated(), EventFactory.failedOver(), EventFactory.simple("x"), EventFactory.simple("y", outcome: .failed)] {
      let mine = DecisionEventJSON.encode(event)
      let theirs = String(decoding: try DecisionRowWriter.makeEncoder().encode(event), as: UTF8.self)
      #expect(try parsed(mine) == parsed(theirs), "\(mine)\n!=\n\(theirs)")
    }
  }

  @Test func decodesBackToTheSameEvent() throws {
    var event = Self.populated()
    event.baselineCostUSD = 0.5  // NaN != NaN, so compare a finite value here
    let back = try DecisionRowWriter.makeDecoder().decode(DecisionEvent.self, from: Data(DecisionEventJSON.encode(event).utf8))
    #expect(back == event)
  }

  @Test func keysAreSnakeCaseAndNumbersAreNumbers() throws {
    let doc = try parsed(DecisionEventJSON.encode(Self.populated())) as! [String: Any]
    #expect(doc["request_id"] as? String == "req-failover")
    #expect(doc["requestID"] == nil)
    #expect(doc["timestamp_ms"] is NSNumber && doc["total_latency_ms"] is NSNumber && doc["peer_uid"] is NSNumber)
    let attempts = try #require(doc["attempts"] as? [[String: Any]])
    #expect(attempts[0]["latency_ms"] is NSNumber && attempts[0]["key_fingerprint"] as? String == "fp:groq")
    #expect(attempts[1]["timeout_fired"] as? String == "attempt_ms")
    let tags = try #require(doc["tags"] as? [String: String])
    #expect(tags["requestID"] == "kept as is" && tags["quote\"key"] == "back\\slash é")
    // Every key at every level (tags excepted) is snake_case.
    func check(_ value: Any, path: String) {
      if let d = value as? [String: Any] {
        for (k, v) in d {
          if path == ".tags" { continue }
          #expect(k == k.lowercased() && !k.contains("-"), "\(path).\(k)")
          check(v, path: path + "." + k)
        }
      } else if let a = value as? [Any] {
        for v in a { check(v, path: path + "[]") }
      }
    }
    check(doc, path: "")
  }

  /// Every property name survives snake_case and back (the decoder's rule); a new
  /// field named against it (`traceId` instead of `traceID`) fails here.
  @Test func everyPropertyNameRoundTrips() throws {
    let camel = try #require(try JSONSerialization.jsonObject(with: Self.legacyEncoder().encode(Self.populated())) as? [String: Any])
    var names: Set<String> = []
    func collect(_ value: Any, parent: String) {
      if let d = value as? [String: Any] {
        for (k, v) in d where parent != "tags" { names.insert(k); collect(v, parent: k) }
      } else if let a = value as? [Any] {
        for v in a { collect(v, parent: parent) }
      }
    }
    collect(camel, parent: "")
    #expect(names.count > 60)
    for n in names {
      #expect(DecisionJSON.camelCaseKey(DecisionJSON.snakeCaseKey(n)) == n, "\(n) -> \(DecisionJSON.snakeCaseKey(n))")
    }
    #expect(DecisionJSON.snakeCaseKey("worstCaseMicroUSD") == "worst_case_micro_usd")
    #expect(DecisionJSON.snakeCaseKey("peerUID") == "peer_uid")
    #expect(DecisionJSON.snakeCaseKey("latencySLAMs") == "latency_sla_ms")
    #expect(DecisionJSON.snakeCaseKey("traceID") == "trace_id")
  }

  /// Rows written before the snake_case shape (camelCase, `requestID`) still decode,
  /// and `canonical` rewrites them into the current shape.
  @Test func oldCamelCaseRowsDecodeAndAreRewritten() throws {
    var event = Self.populated()
    event.baselineCostUSD = 0.5
    event.tags = nil  // rows of that time had no tags
    let legacy = String(decoding: try Self.legacyEncoder().encode(event), as: UTF8.self)
    #expect(legacy.contains("\"requestID\""))
    #expect(try DecisionJSON.decode(legacy) == event)
    let rewritten = try DecisionJSON.canonical(legacy)
    #expect(rewritten.hasPrefix("{\"request_id\":"))
    #expect(try parsed(rewritten) == parsed(DecisionEventJSON.encode(event)))
    // The current shape is returned as is.
    let current = DecisionEventJSON.encode(event)
    #expect(try DecisionJSON.canonical(current) == current)
  }
}
