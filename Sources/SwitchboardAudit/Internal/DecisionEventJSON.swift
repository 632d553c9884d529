import SwitchboardCore

/// A hand-written JSON writer for `DecisionEvent`: the decision's one JSON shape
/// (docs/decision-event.schema.json), snake_case keys, numbers as numbers, nil
/// optionals omitted, non-finite numbers as "inf"/"-inf"/"nan". It is what
/// `JSONEncoder` with ``DecisionJSON/snakeCaseKey(_:)`` produces, so
/// ``DecisionJSON/makeDecoder()`` reads it back. Foundation's encoder
/// was a fifth of the daemon's CPU under load (profiled with `perf`); this is
/// a single pass into one preallocated string. `DecisionEventJSONTests` checks
/// that both produce the same document for a fully populated event, so a field
/// added to the event and forgotten here fails a test.
enum DecisionEventJSON {
  static func encode(_ e: DecisionEvent) -> String {
    var w = Writer()
    w.out.reserveCapacity(1024 + e.attempts.count * 400 + e.candidates.count * 200)
    w.open()
    w.field("request_id", string: e.requestID)
    w.field("timestamp_ms", int: e.timestampMs)
    w.field("tenant", string: e.tenant)
    w.field("route", string: e.route)
    w.field("strategy", string: e.strategy)
    w.field("stream", bool: e.stream)
    if let v = e.peerUID { w.field("peer_uid", int: Int64(v)) }
    w.field("outcome", string: e.outcome.rawValue)
    if let v = e.statusCode { w.field("status_code", string: v.rawValue) }
    if let v = e.reason { w.field("reason", string: v.rawValue) }
    w.field("message", string: e.message)
    w.key("candidates")
    w.array(e.candidates) { w, c in
      w.open()
      w.field("provider", string: c.provider)
      w.field("model", string: c.model)
      w.field("eligible", bool: c.eligible)
      if let v = c.rejection { w.field("rejection", string: v.rawValue) }
      if let v = c.score { w.field("score", double: v) }
      if let v = c.worstCaseCostUSD { w.field("worst_case_cost_usd", double: v) }
      if let v = c.worstCaseMicroUSD { w.field("worst_case_micro_usd", int: v) }
      w.field("rank", int: Int64(c.rank))
      w.field("detail", string: c.detail)
      w.close()
    }
    w.key("attempts")
    w.array(e.attempts) { w, a in
      w.open()
      w.field("index", int: Int64(a.index))
      w.field("provider", string: a.provider)
      w.field("model", string: a.model)
      w.field("key_source", string: a.keySource.rawValue)
      w.field("key_fingerprint", string: a.keyFingerprint)
      w.field("started_offset_ms", double: a.startedOffsetMs)
      w.field("latency_ms", double: a.latencyMs)
      if let v = a.firstTokenMs { w.field("first_token_ms", double: v) }
      w.field("outcome", string: a.outcome.rawValue)
      if let v = a.failureClass { w.field("failure_class", string: v.rawValue) }
      if let v = a.reason { w.field("reason", string: v.rawValue) }
      if let v = a.httpStatus { w.field("http_status", int: Int64(v)) }
      w.key("usage"); w.usage(a.usage)
      w.field("estimated_input_tokens", int: Int64(a.estimatedInputTokens))
      if let v = a.costUSD { w.field("cost_usd", double: v) }
      w.field("message", string: a.message)
      w.field("same_candidate_retry", bool: a.sameCandidateRetry)
      w.field("probe", bool: a.probe)
      if let v = a.retryAfterMs { w.field("retry_after_ms", double: v) }
      if let v = a.reservedMicroUSD { w.field("reserved_micro_usd", int: v) }
      if let v = a.chargedMicroUSD { w.field("charged_micro_usd", int: v) }
      if let v = a.overageMicroUSD { w.field("overage_micro_usd", int: v) }
      if let v = a.chargedScopes { w.key("charged_scopes"); w.array(v) { w, s in w.string(s) } }
      if let v = a.timeoutFired { w.field("timeout_fired", string: v) }
      if let v = a.timeoutLimitMs { w.field("timeout_limit_ms", double: v) }
      if let v = a.hedge { w.field("hedge", bool: v) }
      if let v = a.hedgeLost { w.field("hedge_lost", bool: v) }
      if let v = a.hedgeOf { w.field("hedge_of", int: Int64(v)) }
      w.close()
    }
    if let v = e.chosenProvider { w.field("chosen_provider", string: v) }
    if let v = e.chosenModel { w.field("chosen_model", string: v) }
    if let v = e.baselineProvider { w.field("baseline_provider", string: v) }
    if let v = e.baselineModel { w.field("baseline_model", string: v) }
    if let v = e.costUSD { w.field("cost_usd", double: v) }
    if let v = e.baselineCostUSD { w.field("baseline_cost_usd", double: v) }
    if let v = e.costDeltaUSD { w.field("cost_delta_usd", double: v) }
    w.field("total_spend_usd", double: e.totalSpendUSD)
    w.key("budget_scopes"); w.array(e.budgetScopes) { w, s in w.string(s) }
    w.key("usage"); w.usage(e.usage)
    w.field("total_latency_ms", double: e.totalLatencyMs)
    w.key("warnings"); w.array(e.warnings) { w, s in w.string(s) }
    if let v = e.correlationID { w.field("correlation_id", string: v) }
    if let v = e.subTenant { w.field("sub_tenant", string: v) }
    if let v = e.totalSpendMicroUSD { w.field("total_spend_micro_usd", int: v) }
    if let v = e.costMicroUSD { w.field("cost_micro_usd", int: v) }
    if let caps = e.caps {
      w.key("caps")
      w.array(caps) { w, c in
        w.open()
        w.field("scope", string: c.scope)
        w.field("window", string: c.window)
        w.field("period", string: c.period)
        if let v = c.softMicroUSD { w.field("soft_micro_usd", int: v) }
        if let v = c.hardMicroUSD { w.field("hard_micro_usd", int: v) }
        w.field("spent_micro_usd", int: c.spentMicroUSD)
        w.field("reserved_micro_usd", int: c.reservedMicroUSD)
        if let v = c.headroomMicroUSD { w.field("headroom_micro_usd", int: v) }
        w.close()
      }
    }
    if let t = e.tier {
      // Tiered routes only: Foundation's encoder for this one member, so the
      // router's attempt records always match the Codable shape.
      w.key("tier")
      // Sorted keys: the ring encodes on every read, so the same event must give the same bytes each time.
      let encoder = DecisionRowWriter.makeEncoder()
      encoder.outputFormatting.insert(.sortedKeys)
      w.out.append((try? encoder.encode(t)).map { String(decoding: $0, as: UTF8.self) } ?? "null")
    }
    if let v = e.overageMicroUSD { w.field("overage_micro_usd", int: v) }
    if let v = e.tags { w.key("tags"); w.stringMap(v) }
    if let v = e.costCapUSD { w.field("cost_cap_usd", double: v) }
    if let v = e.latencySLAMs { w.field("latency_sla_ms", double: v) }
    if let v = e.stateBackend { w.field("state_backend", string: v) }
    if let h = e.hedge {
      w.key("hedge")
      w.open()
      w.field("delay_ms", double: h.delayMs)
      w.field("started", int: Int64(h.started))
      if let v = h.winnerAttempt { w.field("winner_attempt", int: Int64(v)) }
      w.field("winner_is_hedge", bool: h.winnerIsHedge)
      w.field("extra_cost_micro_usd", int: h.extraCostMicroUSD)
      w.key("refused"); w.array(h.refused) { w, s in w.string(s) }
      w.close()
    }
    if let v = e.traceID { w.field("trace_id", string: v) }
    w.close()
    return w.out
  }

  struct Writer {
    var out = ""
    private var first = true

    mutating func open() { out.append("{"); first = true }
    mutating func close() { out.append("}"); first = false }

    mutating func key(_ k: String) {
      if !first { out.append(",") }
      first = false
      out.append("\"")
      out.append(k)
      out.append("\":")
    }

    mutating func field(_ k: String, string v: String) { key(k); string(v) }
    mutating func field(_ k: String, int v: Int64) { key(k); out.append(String(v)) }
    mutating func field(_ k: String, bool v: Bool) { key(k); out.append(v ? "true" : "false") }
    mutating func field(_ k: String, double v: Double) { key(k); double(v) }

    mutating func double(_ v: Double) {
      if v.isNaN { out.append("\"nan\""); return }
      if v.isInfinite { out.append(v < 0 ? "\"-inf\"" : "\"inf\""); return }
      if v == v.rounded(), abs(v) < 1e15 { out.append(String(Int64(v))); return }
      out.append(v.description)
    }

    mutating func usage(_ u: Usage) {
      open()
      field("input_tokens", int: Int64(u.inputTokens))
      field("output_tokens", int: Int64(u.outputTokens))
      field("cached_input_tokens", int: Int64(u.cachedInputTokens))
      field("cache_write_tokens", int: Int64(u.cacheWriteTokens))
      close()
    }

    mutating func array<T>(_ items: [T], _ element: (inout Writer, T) -> Void) {
      out.append("[")
      for (i, item) in items.enumerated() {
        if i > 0 { out.append(",") }
        first = true
        element(&self, item)
      }
      out.append("]")
      first = false
    }

    mutating func string(_ s: String) { JSONText.appendQuoted(s, to: &out) }

    /// A string-to-string object, keys sorted (the same document for the same tags).
    mutating func stringMap(_ m: [String: String]) {
      out.append("{")
      for (i, (k, v)) in m.sorted(by: { $0.key < $1.key }).enumerated() {
        if i > 0 { out.append(",") }
        JSONText.appendQuoted(k, to: &out)  // tag keys are the client's: escaped
        out.append(":")
        JSONText.appendQuoted(v, to: &out)
      }
      out.append("}")
      first = false
    }
  }
}
