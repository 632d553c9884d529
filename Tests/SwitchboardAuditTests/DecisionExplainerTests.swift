import Foundation
import Testing
@testable import SwitchboardAudit
@testable import SwitchboardCore

@Suite("DecisionExplainer")
struct DecisionExplainerTests {
  @Test("a failed-over request shows the failures, the fallback, and the delta")
  func failedOver() {
    let text = DecisionExplainer.render(EventFactory.failedOver())
    print(text)
    // Header.
    #expect(text.contains("Decision req-failover"))
    #expect(text.contains("2024-10-04T12:34:56.789Z"))
    #expect(text.contains("acme@payments") && text.contains("payments-assist") && text.contains("score"))
    #expect(text.contains("outcome   success"))
    // Candidates with rejection code and detail.
    #expect(text.contains("2 of 3 eligible"))
    #expect(text.contains("context_too_small: needs 9000 tokens, window 8192"))
    #expect(text.contains("0.0021"))
    // Attempt timeline: both groq failures, the retry marker, the probe, the served one.
    let lines = text.split(separator: "\n").map(String.init)
    let first = lines.first { $0.contains("#1 groq/llama-3.3-70b") }
    #expect(first?.contains("FAILED transient provider_5xx HTTP 503") == true)
    let second = lines.first { $0.contains("#2 groq/llama-3.3-70b") }
    #expect(second?.contains("timeout") == true && second?.contains("[retry of same candidate]") == true)
    let third = lines.first { $0.contains("#3 anthropic/claude-3-5-sonnet") }
    #expect(third?.contains("SUCCESS") == true && third?.contains("[circuit probe]") == true && third?.contains("<- served") == true)
    #expect(text.contains("+8220.0ms"))
    #expect(text.contains("key env:fp:anthropic") && text.contains("first token 310.0ms") && text.contains("cost $0.0031"))
    #expect(text.contains("fallback: groq/llama-3.3-70b (provider_5xx), groq/llama-3.3-70b (timeout) -> anthropic/claude-3-5-sonnet"))
    // Cost versus baseline.
    #expect(text.contains("served by     anthropic/claude-3-5-sonnet"))
    #expect(text.contains("baseline      groq/llama-3.3-70b"))
    #expect(text.contains("cost          $0.0031"))
    #expect(text.contains("baseline cost $0.0012"))
    #expect(text.contains("delta         +$0.0019 (dearer than baseline)"))
    #expect(text.contains("- soft_budget_exceeded:route:payments-assist"))
  }

  @Test("a failed request says what is unknown")
  func failedRequest() {
    var e = EventFactory.simple("f1", outcome: .failed)
    e.baselineProvider = nil
    e.baselineModel = nil
    let text = DecisionExplainer.render(e)
    #expect(text.contains("outcome   failed   status unavailable   reason provider_5xx"))
    #expect(text.contains("served by     nothing (failed)"))
    #expect(text.contains("baseline      unknown"))
    #expect(text.contains("cost          unknown"))
    #expect(text.contains("delta         unknown"))
    #expect(!text.contains("fallback:"))
  }

  @Test func budgetSideOfEveryAttemptAndTheCapsWithTheirHeadroom() {
    var e = EventFactory.failedOver()
    e.correlationID = "order-42"
    e.subTenant = "team-a"
    e.attempts[0].reservedMicroUSD = 21_000
    e.attempts[0].chargedMicroUSD = 604_600
    e.attempts[0].overageMicroUSD = 583_600
    e.attempts[0].chargedScopes = ["route:r@daily", "tenant:acme@monthly"]
    e.overageMicroUSD = 583_600
    e.caps = [BudgetCapRecord(BudgetSnapshot(scope: "tenant:acme", window: "monthly", period: "2026-01", spent: MicroUSD(250_000),
                                             reserved: MicroUSD(50_000), limit: BudgetLimit(soft: nil, hard: MicroUSD(1_000_000))))]
    let text = DecisionExplainer.render(e)
    #expect(text.contains("client id order-42"))
    #expect(text.contains("sub-tenant team-a"))
    #expect(text.contains("budget reserved $0.021  charged $0.6046  OVERAGE $0.5836  to route:r@daily, tenant:acme@monthly"))
    #expect(text.contains("Budget caps (at planning time)"))
    let capLine = text.split(separator: "\n").first { $0.contains("tenant:acme") && $0.contains("monthly") && $0.contains("2026-01") }
    #expect(capLine.map { $0.contains("$1.0") && $0.contains("$0.25") && $0.contains("$0.05") && $0.contains("$0.7") } == true, "\(text)")
  }
}

@Suite("Explain and list: tags, caps, timeouts, skips, ratio")
struct ExplainAndListTests {
  static func event() -> DecisionEvent {
    var e = EventFactory.failedOver()
    e.tags = ["team": "payments", "ticket": "INC-42"]
    e.attempts[1].timeoutFired = "attempt_ms"
    e.attempts[1].timeoutLimitMs = 8000
    e.costCapUSD = 0.008
    e.latencySLAMs = 1500
    return e
  }

  @Test func explainShowsTagsTheTimeoutThatFiredTheCapsAndTheRatio() {
    let text = DecisionExplainer.render(Self.event())
    #expect(text.contains("tags      team=payments ticket=INC-42"))
    let second = text.split(separator: "\n").first { $0.contains("#2 groq/llama-3.3-70b") }
    #expect(second?.contains("[timeout attempt_ms=8000.0ms fired]") == true, "\(second ?? "")")
    // 0.0031 against a 0.0012 baseline.
    #expect(text.contains("ratio         2.6× baseline"), "\(text)")
    // The served candidate's worst case is 0.0039 against the 0.008 cap.
    #expect(text.contains("cost cap      $0.008 worst case per request; served candidate's worst case $0.0039, headroom $0.0041"))
    #expect(text.contains("latency SLA   1500.0ms"))
  }

  @Test func ratioFormatting() {
    #expect(DecisionExplainer.ratio(15.3125) == "15.3×")
    #expect(DecisionExplainer.ratio(0.42) == "0.42×")
    #expect(DecisionExplainer.ratio(1) == "1×")
    #expect(DecisionExplainer.ratio(153.4) == "153×")
    #expect(DecisionExplainer.ratio(.infinity) == "-")
  }

  /// The old list printed `attempts=1` for a request whose first candidate was passed
  /// over with its circuit open, and no reason at all.
  @Test func aCircuitOpenSkipIsNotABareAttemptCount() {
    var e = EventFactory.simple("r1", provider: "fast")
    e.candidates.insert(CandidateEvaluation(provider: "bad", model: "m", eligible: false, rejection: .circuitOpen, rank: 0), at: 0)
    e.attempts.insert(EventFactory.attempt(0, "slow", "m", outcome: .skipped, reason: .budgetViolation), at: 0)
    e.baselineProvider = "bad"; e.baselineModel = "m"
    let line = DecisionListLine.render(e)
    #expect(line.contains(" tenant=acme route=chat outcome=success served_by=fast/m1 attempts=1 skipped=2 "), "\(line)")
    #expect(line.contains("why=bad/m:circuit_open(skipped),slow/m:budget_violation(skipped)"), "\(line)")
  }

  @Test func listLineOfAFailover() {
    let line = DecisionListLine.render(Self.event())
    #expect(line.contains("attempts=3 skipped=1"), "\(line)")
    #expect(line.contains("why=local/llama-3.1-8b:context_too_small(skipped),groq/llama-3.3-70b:provider_5xx,groq/llama-3.3-70b:timeout[attempt_ms]"), "\(line)")
    #expect(line.contains("vs_baseline=2.6×"))
    #expect(line.hasSuffix("tags=team=payments,ticket=INC-42"))
  }
}
