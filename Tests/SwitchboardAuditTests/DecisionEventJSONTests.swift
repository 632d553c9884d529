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
    e.caps = [BudgetCapRecord(BudgetSnapshot(scope: "tenant:acme", window: "monthly", period: "2026-01", spent: MicroUSD(10),
                                             reserved: MicroUSD(5), limit: BudgetLimit(soft: MicroUSD(20), hard: MicroUSD(30)))),
              BudgetCapRecord(BudgetSnapshot(scope: "route:chat", window: "daily", period: "2026-01-01", spent: .zero,
                                             reserved: .zero, limit: BudgetLimit()))]
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
}
