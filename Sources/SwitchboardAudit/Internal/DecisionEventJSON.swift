import SwitchboardCore

/// A hand-written JSON writer for `DecisionEvent`, producing exactly what
/// `JSONEncoder` would (same keys, nil optionals omitted, non-finite numbers as
/// "inf"/"-inf"/"nan"), so `JSONDecoder` reads it back. Foundation's encoder
/// was a fifth of the daemon's CPU under load (profiled with `perf`); this is
/// a single pass into one preallocated string. `DecisionEventJSONTests` checks
/// that both produce the same document for a fully populated event, so a field
/// added to the event and forgotten here fails a test.
enum DecisionEventJSON {
  static func encode(_ e: DecisionEvent) -> String {
    var w = Writer()
    w.out.reserveCapacity(1024 + e.attempts.count * 400 + e.candidates.count * 200)
    w.open()
    w.field("requestID", string: e.requestID)
    w.field("timestampMs", int: e.timestampMs)
    w.field("tenant", string: e.tenant)
    w.field("route", string: e.route)
    w.field("strategy", string: e.strategy)
    w.field("stream", bool: e.stream)
    if let v = e.peerUID { w.field("peerUID", int: Int64(v)) }
    w.field("outcome", string: e.outcome.rawValue)
    if let v = e.statusCode { w.field("statusCode", string: v.rawValue) }
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
      if let v = c.worstCaseCostUSD { w.field("worstCaseCostUSD", double: v) }
      if let v = c.worstCaseMicroUSD { w.field("worstCaseMicroUSD", int: v) }
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
      w.field("keySource", string: a.keySource.rawValue)
      w.field("keyFingerprint", string: a.keyFingerprint)
      w.field("startedOffsetMs", double: a.startedOffsetMs)
      w.field("latencyMs", double: a.latencyMs)
      if let v = a.firstTokenMs { w.field("firstTokenMs", double: v) }
      w.field("outcome", string: a.outcome.rawValue)
      if let v = a.failureClass { w.field("failureClass", string: v.rawValue) }
      if let v = a.reason { w.field("reason", string: v.rawValue) }
      if let v = a.httpStatus { w.field("httpStatus", int: Int64(v)) }
      w.key("usage"); w.usage(a.usage)
      w.field("estimatedInputTokens", int: Int64(a.estimatedInputTokens))
      if let v = a.costUSD { w.field("costUSD", double: v) }
      w.field("message", string: a.message)
      w.field("sameCandidateRetry", bool: a.sameCandidateRetry)
      w.field("probe", bool: a.probe)
      if let v = a.retryAfterMs { w.field("retryAfterMs", double: v) }
      if let v = a.reservedMicroUSD { w.field("reservedMicroUSD", int: v) }
      if let v = a.chargedMicroUSD { w.field("chargedMicroUSD", int: v) }
      if let v = a.overageMicroUSD { w.field("overageMicroUSD", int: v) }
      if let v = a.chargedScopes { w.key("chargedScopes"); w.array(v) { w, s in w.string(s) } }
      w.close()
    }
    if let v = e.chosenProvider { w.field("chosenProvider", string: v) }
    if let v = e.chosenModel { w.field("chosenModel", string: v) }
    if let v = e.baselineProvider { w.field("baselineProvider", string: v) }
    if let v = e.baselineModel { w.field("baselineModel", string: v) }
    if let v = e.costUSD { w.field("costUSD", double: v) }
    if let v = e.baselineCostUSD { w.field("baselineCostUSD", double: v) }
    if let v = e.costDeltaUSD { w.field("costDeltaUSD", double: v) }
    w.field("totalSpendUSD", double: e.totalSpendUSD)
    w.key("budgetScopes"); w.array(e.budgetScopes) { w, s in w.string(s) }
    w.key("usage"); w.usage(e.usage)
    w.field("totalLatencyMs", double: e.totalLatencyMs)
    w.key("warnings"); w.array(e.warnings) { w, s in w.string(s) }
    if let v = e.correlationID { w.field("correlationID", string: v) }
    if let v = e.subTenant { w.field("subTenant", string: v) }
    if let v = e.totalSpendMicroUSD { w.field("totalSpendMicroUSD", int: v) }
    if let v = e.costMicroUSD { w.field("costMicroUSD", int: v) }
    if let caps = e.caps {
      w.key("caps")
      w.array(caps) { w, c in
        w.open()
        w.field("scope", string: c.scope)
        w.field("window", string: c.window)
        w.field("period", string: c.period)
        if let v = c.softMicroUSD { w.field("softMicroUSD", int: v) }
        if let v = c.hardMicroUSD { w.field("hardMicroUSD", int: v) }
        w.field("spentMicroUSD", int: c.spentMicroUSD)
        w.field("reservedMicroUSD", int: c.reservedMicroUSD)
        if let v = c.headroomMicroUSD { w.field("headroomMicroUSD", int: v) }
        w.close()
      }
    }
    if let v = e.overageMicroUSD { w.field("overageMicroUSD", int: v) }
    if let v = e.traceID { w.field("traceID", string: v) }
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
      field("inputTokens", int: Int64(u.inputTokens))
      field("outputTokens", int: Int64(u.outputTokens))
      field("cachedInputTokens", int: Int64(u.cachedInputTokens))
      field("cacheWriteTokens", int: Int64(u.cacheWriteTokens))
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
  }
}
