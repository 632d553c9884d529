import Foundation
import Logging
@testable import SwitchboardCore

/// Builds decision events shaped like the router's.
enum EventFactory {
  static let day0: Int64 = 20_000 * 86_400_000  // 2024-10-04T00:00:00Z

  static func attempt(_ index: Int, _ provider: String, _ model: String, outcome: AttemptRecord.Outcome,
                      reason: ReasonCode? = nil, http: Int? = nil, offset: Double = 0, latency: Double = 100,
                      firstToken: Double? = nil, cost: Double? = 0, usage: Usage = .zero, retry: Bool = false,
                      probe: Bool = false, message: String = "") -> AttemptRecord {
    AttemptRecord(index: index, provider: provider, model: model, keySource: .env, keyFingerprint: "fp:\(provider)",
                  startedOffsetMs: offset, latencyMs: latency, firstTokenMs: firstToken, outcome: outcome,
                  failureClass: reason?.failureClass, reason: reason, httpStatus: http, usage: usage,
                  estimatedInputTokens: 120, costUSD: cost, message: message, sameCandidateRetry: retry, probe: probe)
  }

  /// A plain success on one candidate.
  static func simple(_ id: String, ts: Int64 = day0 + 1_000, tenant: String = "acme", route: String = "chat",
                     outcome: DecisionEvent.Outcome = .success, provider: String = "groq", spend: Double = 0.001,
                     scopes: [String]? = nil) -> DecisionEvent {
    let succeeded = outcome == .success
    return DecisionEvent(
      requestID: id, timestampMs: ts, tenant: tenant, route: route, strategy: "priority", stream: false, peerUID: 1000,
      outcome: outcome, statusCode: succeeded ? nil : .unavailable, reason: succeeded ? nil : .provider5xx,
      message: succeeded ? "" : "all 1 attempt(s) failed",
      candidates: [CandidateEvaluation(provider: provider, model: "m1", eligible: true, score: 1, worstCaseCostUSD: 0.01, rank: 1)],
      attempts: [attempt(1, provider, "m1", outcome: succeeded ? .success : .failed, reason: succeeded ? nil : .provider5xx,
                         http: succeeded ? nil : 503, cost: succeeded ? spend : 0)],
      chosenProvider: succeeded ? provider : nil, chosenModel: succeeded ? "m1" : nil,
      baselineProvider: provider, baselineModel: "m1", costUSD: succeeded ? spend : nil,
      baselineCostUSD: succeeded ? spend : nil, costDeltaUSD: succeeded ? 0 : nil, totalSpendUSD: succeeded ? spend : 0,
      budgetScopes: scopes ?? ["route:\(route)/tenant:\(tenant)", "route:\(route)"],
      usage: Usage(inputTokens: 100, outputTokens: 20), totalLatencyMs: 120, warnings: [])
  }

  /// groq fails (503, then its same-candidate retry times out), anthropic serves.
  static func failedOver(_ id: String = "req-failover", ts: Int64 = day0 + 45_296_789) -> DecisionEvent {
    DecisionEvent(
      requestID: id, timestampMs: ts, tenant: "acme@payments", route: "payments-assist", strategy: "score", stream: true,
      peerUID: nil, outcome: .success, statusCode: nil, reason: nil, message: "",
      candidates: [
        CandidateEvaluation(provider: "groq", model: "llama-3.3-70b", eligible: true, score: 0.91, worstCaseCostUSD: 0.0021, rank: 1),
        CandidateEvaluation(provider: "anthropic", model: "claude-3-5-sonnet", eligible: true, score: 0.55,
                            worstCaseCostUSD: 0.0039, rank: 2),
        CandidateEvaluation(provider: "local", model: "llama-3.1-8b", eligible: false, rejection: .contextTooSmall,
                            worstCaseCostUSD: nil, rank: 0, detail: "needs 9000 tokens, window 8192"),
      ],
      attempts: [
        attempt(1, "groq", "llama-3.3-70b", outcome: .failed, reason: .provider5xx, http: 503, offset: 0, latency: 210,
                message: "upstream overloaded"),
        attempt(2, "groq", "llama-3.3-70b", outcome: .failed, reason: .timeout, offset: 215, latency: 8000, retry: true),
        attempt(3, "anthropic", "claude-3-5-sonnet", outcome: .success, offset: 8_220, latency: 900, firstToken: 310,
                cost: 0.0031, usage: Usage(inputTokens: 400, outputTokens: 120), probe: true),
      ],
      chosenProvider: "anthropic", chosenModel: "claude-3-5-sonnet", baselineProvider: "groq", baselineModel: "llama-3.3-70b",
      costUSD: 0.0031, baselineCostUSD: 0.0012, costDeltaUSD: 0.0019, totalSpendUSD: 0.0031,
      budgetScopes: ["route:payments-assist/tenant:acme@payments", "route:payments-assist"],
      usage: Usage(inputTokens: 400, outputTokens: 120), totalLatencyMs: 9_140.5, warnings: ["soft_budget_exceeded:route:payments-assist"])
  }

  static var logger: Logger { Logger(label: "switchboard.audit.test") }

  /// A fresh temporary database path (the directory is unique per call).
  static func tempDBPath() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sb-audit-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent("audit.sqlite").path
  }
}
