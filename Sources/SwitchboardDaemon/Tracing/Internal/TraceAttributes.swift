import SwitchboardCore
import Tracing

/// Span attributes from a decision, after the OpenTelemetry GenAI semantic
/// conventions where one applies (`gen_ai.*`, `error.type`,
/// `http.response.status_code`) and `switchboard.*` for the routing facts. Keys
/// only, never a secret: keys appear as their fingerprint.
enum TraceAttributes {
  /// The attempt span's attributes.
  static func apply(_ r: AttemptRecord, finishReason: FinishReason?, responseModel: String?, to a: inout SpanAttributes) {
    a["gen_ai.operation.name"] = "chat"
    a["gen_ai.provider.name"] = r.provider
    a["gen_ai.request.model"] = r.model
    if let m = responseModel { a["gen_ai.response.model"] = m }
    if r.usage.inputTokens > 0 || r.usage.outputTokens > 0 || r.outcome == .success {
      a["gen_ai.usage.input_tokens"] = r.usage.inputTokens
      a["gen_ai.usage.output_tokens"] = r.usage.outputTokens
    }
    if r.usage.cachedInputTokens > 0 { a["gen_ai.usage.cache_read.input_tokens"] = r.usage.cachedInputTokens }
    if r.usage.cacheWriteTokens > 0 { a["gen_ai.usage.cache_creation.input_tokens"] = r.usage.cacheWriteTokens }
    if r.outcome == .success, let f = finishReason { a["gen_ai.response.finish_reasons"] = [f.rawValue] }
    if let s = r.httpStatus { a["http.response.status_code"] = s }
    a["switchboard.attempt.index"] = r.index
    a["switchboard.attempt.outcome"] = r.outcome.rawValue
    a["switchboard.key.source"] = r.keySource.rawValue
    a["switchboard.key.fingerprint"] = r.keyFingerprint
    a["switchboard.attempt.latency_ms"] = r.latencyMs
    if let t = r.firstTokenMs { a["switchboard.attempt.first_token_ms"] = t }
    if let c = r.failureClass { a["switchboard.failure.class"] = c.rawValue }
    if let reason = r.reason {
      a["switchboard.reason"] = reason.rawValue
      if r.outcome == .failed { a["error.type"] = reason.rawValue }
    }
    if let c = r.costUSD { a["switchboard.cost_usd"] = c }
    if let c = r.chargedMicroUSD { a["switchboard.charged_micro_usd"] = Int64(c) }
    if r.sameCandidateRetry { a["switchboard.attempt.retry"] = true }
    if r.probe { a["switchboard.attempt.probe"] = true }
    if let ms = r.retryAfterMs { a["switchboard.retry_after_ms"] = ms }
  }

  /// A skipped attempt, as an event on the request span.
  static func skipped(_ r: AttemptRecord) -> SpanAttributes {
    var a = SpanAttributes()
    a["gen_ai.provider.name"] = r.provider
    a["gen_ai.request.model"] = r.model
    a["switchboard.attempt.index"] = r.index
    if let reason = r.reason { a["switchboard.reason"] = reason.rawValue }
    return a
  }

  /// The request span's attributes.
  static func apply(_ e: DecisionEvent, to a: inout SpanAttributes) {
    a["gen_ai.operation.name"] = "chat"
    a["switchboard.request.id"] = e.requestID
    if let c = e.correlationID { a["switchboard.correlation_id"] = c }
    a["switchboard.route"] = e.route
    a["switchboard.tenant"] = e.tenant
    if let s = e.subTenant { a["switchboard.sub_tenant"] = s }
    if !e.strategy.isEmpty { a["switchboard.strategy"] = e.strategy }
    a["switchboard.stream"] = e.stream
    a["switchboard.outcome"] = e.outcome.rawValue
    a["switchboard.attempts"] = e.attempts.filter { $0.outcome != .skipped }.count
    let skipped = e.attempts.filter { $0.outcome == .skipped }.count
    if skipped > 0 { a["switchboard.attempts_skipped"] = skipped }
    if let p = e.chosenProvider, let m = e.chosenModel {
      a["gen_ai.provider.name"] = p
      a["gen_ai.response.model"] = m
    }
    if let b = e.baselineProvider, let m = e.baselineModel { a["switchboard.baseline"] = "\(b)/\(m)" }
    if e.outcome == .success {
      a["gen_ai.usage.input_tokens"] = e.usage.inputTokens
      a["gen_ai.usage.output_tokens"] = e.usage.outputTokens
    }
    if let c = e.costUSD { a["switchboard.cost_usd"] = c }
    if let d = e.costDeltaUSD { a["switchboard.cost_delta_usd"] = d }
    a["switchboard.total_spend_usd"] = e.totalSpendUSD
    if let r = e.reason, e.outcome != .success {
      a["switchboard.reason"] = r.rawValue
      a["error.type"] = r.rawValue
    }
  }
}
