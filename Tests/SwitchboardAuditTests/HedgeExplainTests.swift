import Foundation
import Testing
@testable import SwitchboardAudit
@testable import SwitchboardCore

/// `explain` of a hedged request: which attempt was the hedge, which lost, what it cost.
@Suite struct HedgeExplainTests {
  static func hedged() -> DecisionEvent {
    var e = EventFactory.simple("req-hedged", provider: "groq")
    var loser = EventFactory.attempt(1, "groq", "m1", outcome: .failed, reason: .cancelled, latency: 620, cost: 0.00002,
                                     message: "lost the hedge race: another attempt delivered its first token first")
    loser.hedgeLost = true
    loser.chargedMicroUSD = 20
    var winner = EventFactory.attempt(2, "anthropic", "m1", outcome: .success, offset: 500, latency: 120, cost: 0.0009)
    winner.hedge = true
    winner.hedgeOf = 1
    e.attempts = [loser, winner]
    e.chosenProvider = "anthropic"
    e.hedge = HedgeRecord(delayMs: 500, started: 1, winnerAttempt: 2, winnerIsHedge: true, extraCostMicroUSD: 20)
    return e
  }

  @Test func explainShowsTheRaceAndItsCost() {
    let text = DecisionExplainer.render(Self.hedged())
    #expect(text.contains("#1 groq/m1  FAILED") && text.contains("[lost the hedge race]"))
    #expect(text.contains("#2 anthropic/m1  SUCCESS") && text.contains("[hedge of #1]") && text.contains("<- served"))
    #expect(text.contains("hedging: delay 500.0ms, 1 hedge(s) started, won by #2 (a hedge), extra cost $0.00002"))
    #expect(!text.contains("fallback:"), "a hedge race is not a failover")
  }

  @Test func theSummaryLineDoesNotCountTheLoserAsAFailure() {
    let s = Self.hedged().summary
    #expect(s.contains("hedged=1 hedge_won=true"))
    #expect(!s.contains("failures="))
  }
}
