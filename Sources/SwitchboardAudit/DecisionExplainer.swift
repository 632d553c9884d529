import Foundation
import SwitchboardCore

/// Renders a ``DecisionEvent`` for operators (`switchboard explain`). Pure: no I/O.
public enum DecisionExplainer {
  /// A human-readable, multi-line explanation of one decision.
  public static func render(_ event: DecisionEvent) -> String {
    var out: [String] = []
    let e = event
    out.append("Decision \(e.requestID)")
    out.append("  time      \(iso8601(e.timestampMs))")
    out.append("  tenant    \(e.tenant)" + (e.subTenant.map { "   sub-tenant \($0)" } ?? ""))
    if let c = e.correlationID { out.append("  client id \(c)") }
    if let t = e.traceID { out.append("  trace id \(t)") }
    out.append("  route     \(e.route.isEmpty ? "(none)" : e.route)")
    out.append("  strategy  \(e.strategy.isEmpty ? "(none)" : e.strategy)")
    out.append("  stream    \(e.stream ? "yes" : "no")" + (e.peerUID.map { "   peer uid \($0)" } ?? ""))
    var outcome = "  outcome   \(e.outcome.rawValue)"
    if let s = e.statusCode { outcome += "   status \(s.rawValue)" }
    if let r = e.reason { outcome += "   reason \(r.rawValue)" }
    out.append(outcome)
    if !e.message.isEmpty { out.append("  message   \(e.message)") }
    out.append("  latency   \(ms(e.totalLatencyMs))")
    if let t = e.tier { out.append(contentsOf: tierLines(t)) }
    if let tags = e.tags, !tags.isEmpty {
      out.append("  tags      " + tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))
    }

    // Candidates.
    out.append("")
    out.append("Candidates (\(e.candidates.filter(\.eligible).count) of \(e.candidates.count) eligible)")
    if e.candidates.isEmpty {
      out.append("  (none planned)")
    } else {
      var rows = [["RANK", "CANDIDATE", "ELIGIBLE", "SCORE", "WORST-CASE USD", "REJECTION"]]
      for c in e.candidates {
        let rejection: String
        switch (c.rejection, c.detail.isEmpty) {
        case (nil, true): rejection = "-"
        case (nil, false): rejection = c.detail
        case (let r?, true): rejection = r.rawValue
        case (let r?, false): rejection = "\(r.rawValue): \(c.detail)"
        }
        rows.append([
          c.eligible && c.rank > 0 ? "\(c.rank)" : "-",
          "\(c.provider)/\(c.model)",
          c.eligible ? "yes" : "no",
          c.score.map { String(format: "%.4g", $0) } ?? "-",
          c.worstCaseCostUSD.map(formatUSD) ?? "-",
          rejection,
        ])
      }
      out.append(contentsOf: table(rows))
    }

    // Attempts.
    out.append("")
    out.append("Attempts (\(e.attempts.filter { $0.outcome != .skipped }.count) made, \(e.attempts.filter { $0.outcome == .skipped }.count) skipped)")
    if e.attempts.isEmpty { out.append("  (none)") }
    let servedIndex = e.outcome == .success
      ? e.attempts.lastIndex { $0.outcome == .success && $0.provider == e.chosenProvider && $0.model == e.chosenModel }
      : nil
    for (i, a) in e.attempts.enumerated() {
      var line = "  +\(ms(a.startedOffsetMs))".padding(toLength: 13, withPad: " ", startingAt: 0)
      line += " #\(a.index) \(a.provider)/\(a.model)  \(a.outcome.rawValue.uppercased())"
      if let fc = a.failureClass { line += " \(fc.rawValue)" }
      if let r = a.reason { line += " \(r.rawValue)" }
      if let h = a.httpStatus { line += " HTTP \(h)" }
      if let t = a.timeoutFired { line += "  [timeout \(t)=\(a.timeoutLimitMs.map(ms) ?? "?") fired]" }
      if a.sameCandidateRetry { line += "  [retry of same candidate]" }
      if a.probe { line += "  [circuit probe]" }
      if a.hedge == true { line += a.hedgeOf.map { "  [hedge of #\($0)]" } ?? "  [hedge]" }
      if a.hedgeLost == true { line += "  [lost the hedge race]" }
      if i == servedIndex { line += "  <- served" }
      out.append(line)
      var detail = "               key \(a.keySource.rawValue):\(a.keyFingerprint)  latency \(ms(a.latencyMs))"
      detail += "  first token \(a.firstTokenMs.map(ms) ?? "-")"
      detail += "  cost \(a.costUSD.map { "$" + formatUSD($0) } ?? "unknown")"
      if a.usage != .zero { detail += "  tokens \(a.usage.inputTokens) in / \(a.usage.outputTokens) out" }
      out.append(detail)
      if a.reservedMicroUSD != nil || a.chargedMicroUSD != nil {
        var b = "               budget reserved \(micro(a.reservedMicroUSD))  charged \(micro(a.chargedMicroUSD))"
        if let o = a.overageMicroUSD { b += "  OVERAGE \(micro(o))" }
        if let s = a.chargedScopes, !s.isEmpty { b += "  to \(s.joined(separator: ", "))" }
        out.append(b)
      }
      if !a.message.isEmpty { out.append("               \(a.message)") }
    }
    let failedBeforeServe = e.attempts.prefix(servedIndex ?? 0).filter { $0.outcome == .failed && $0.hedgeLost != true }
    if let servedIndex, !failedBeforeServe.isEmpty {
      let served = e.attempts[servedIndex]
      let from = failedBeforeServe.map { "\($0.provider)/\($0.model) (\($0.reason?.rawValue ?? "failed"))" }
      out.append("  fallback: \(from.joined(separator: ", ")) -> \(served.provider)/\(served.model)")
    }

    if let h = e.hedge {
      var line = "  hedging: delay \(ms(h.delayMs)), \(h.started) hedge(s) started"
      if let w = h.winnerAttempt { line += ", won by #\(w)" + (h.winnerIsHedge ? " (a hedge)" : " (not a hedge)") }
      line += ", extra cost \(micro(h.extraCostMicroUSD))"
      if !h.refused.isEmpty { line += ", not started: " + h.refused.joined(separator: ", ") }
      out.append(line)
    }

    // Result and cost.
    out.append("")
    out.append("Result")
    if let p = e.chosenProvider, let m = e.chosenModel {
      out.append("  served by     \(p)/\(m)")
    } else {
      out.append("  served by     nothing (\(e.outcome.rawValue))")
    }
    if let p = e.baselineProvider, let m = e.baselineModel {
      out.append("  baseline      \(p)/\(m)")
    } else {
      out.append("  baseline      unknown")
    }
    out.append("  cost          \(usd(e.costUSD))")
    out.append("  baseline cost \(usd(e.baselineCostUSD))")
    var delta = "  delta         \(usd(e.costDeltaUSD, signed: true))"
    if let d = e.costDeltaUSD {
      if d < 0 { delta += " (cheaper than baseline)" } else if d > 0 { delta += " (dearer than baseline)" } else { delta += " (same as baseline)" }
    }
    out.append(delta)
    if let r = e.costRatioToBaseline { out.append("  ratio         \(ratio(r)) baseline") }
    out.append("  total spend   $\(e.totalSpendMicroUSD.map { MicroUSD($0).description } ?? formatUSD(e.totalSpendUSD)) (all attempts; charged to \(e.budgetScopes.isEmpty ? "no budget scope" : e.budgetScopes.joined(separator: ", ")))")
    out.append("  usage         \(e.usage.inputTokens) in / \(e.usage.outputTokens) out"
               + " (cached \(e.usage.cachedInputTokens), cache write \(e.usage.cacheWriteTokens))")

    out.append("")
    out.append("Caps that applied")
    let served = e.candidates.first { $0.provider == e.chosenProvider && $0.model == e.chosenModel }
    if let cap = e.costCapUSD {
      var line = "  cost cap      $\(formatUSD(cap)) worst case per request"
      if let w = served?.worstCaseCostUSD {
        line += "; served candidate's worst case $\(formatUSD(w)), headroom $\(formatUSD(cap - w))"
      }
      out.append(line)
    } else {
      out.append("  cost cap      none")
    }
    out.append("  latency SLA   \(e.latencySLAMs.map(ms) ?? "none")")
    out.append("")
    out.append("Budget caps (at planning time)")
    if (e.caps ?? []).isEmpty { out.append("  (no capped scope)") }
    else {
      var rows = [["SCOPE", "WINDOW", "PERIOD", "SOFT", "HARD", "SPENT", "RESERVED", "HEADROOM"]]
      for c in e.caps ?? [] {
        rows.append([c.scope, c.window, c.period, micro(c.softMicroUSD), micro(c.hardMicroUSD), micro(c.spentMicroUSD),
                     micro(c.reservedMicroUSD), micro(c.headroomMicroUSD)])
      }
      out.append(contentsOf: table(rows))
    }
    if let o = e.overageMicroUSD { out.append("  overage       \(micro(o)) over the reservations (provider reported more than the worst case)") }
    if let b = e.stateBackend, b != "local" { out.append("  ledger        \(b)\(b == "local_fallback" ? " (the fleet database was unreachable: spent from this sidecar's share)" : " (the fleet's shared ledger)")") }

    out.append("")
    out.append("Warnings")
    if e.warnings.isEmpty { out.append("  (none)") }
    for w in e.warnings { out.append("  - \(w)") }
    return out.joined(separator: "\n") + "\n"
  }

  /// The tier section of a tiered route's decision: who chose the tier and why,
  /// and the router calls with their latency and cost.
  static func tierLines(_ t: TierDecisionRecord) -> [String] {
    var out = ["", "Tier"]
    switch t.source {
    case .rule:
      out.append("  chosen    \(t.tier)   by rule \(t.rule ?? "?")" + (t.ruleDetail.map { " (\($0))" } ?? ""))
    case .router:
      out.append("  chosen    \(t.tier)   by the router" + (t.routerReason.map { $0.isEmpty ? "" : ": \"\($0)\"" } ?? ""))
    case .default:
      out.append("  chosen    \(t.tier)   default_tier (\(t.reason.rawValue))" + (t.routerReason.map { ": \($0)" } ?? ""))
    }
    if !t.routerAttempts.isEmpty || t.routerLatencyMs > 0 {
      let made = t.routerAttempts.filter { $0.outcome != .skipped }.count
      out.append("  router    \(made) call(s) in \(ms(t.routerLatencyMs)), charged \(micro(t.routerCostMicroUSD)) (in the total spend)")
      for a in t.routerAttempts {
        var line = "    #\(a.index) \(a.provider)/\(a.model)  \(a.outcome.rawValue.uppercased())"
        if let fc = a.failureClass { line += " \(fc.rawValue)" }
        if let r = a.reason { line += " \(r.rawValue)" }
        if let h = a.httpStatus { line += " HTTP \(h)" }
        if a.probe { line += "  [circuit probe]" }
        line += "  latency \(ms(a.latencyMs))  key \(a.keySource.rawValue):\(a.keyFingerprint)"
        if a.reservedMicroUSD != nil || a.chargedMicroUSD != nil {
          line += "  reserved \(micro(a.reservedMicroUSD)) charged \(micro(a.chargedMicroUSD))"
        }
        if a.usage != .zero { line += "  tokens \(a.usage.inputTokens) in / \(a.usage.outputTokens) out" }
        out.append(line)
        if !a.message.isEmpty { out.append("       \(a.message)") }
      }
    }
    if !t.excluded.isEmpty {
      out.append("  excluded  \(t.excluded.joined(separator: ", ")) (failed as the router in this request)")
    }
    return out
  }

  static func iso8601(_ ms: Int64) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    f.timeZone = TimeZone(identifier: "UTC")
    return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
  }

  static func ms(_ v: Double) -> String { String(format: "%.1fms", v) }

  /// A cost ratio to the baseline: `15.3×`, `0.42×`, `1×`.
  public static func ratio(_ r: Double) -> String {
    guard r.isFinite else { return "-" }
    return String(format: r >= 100 ? "%.0f×" : (r >= 10 ? "%.1f×" : "%.2g×"), r)
  }

  static func usd(_ v: Double?, signed: Bool = false) -> String {
    guard let v else { return "unknown" }
    if signed { return (v < 0 ? "-$" : "+$") + formatUSD(abs(v)) }
    return "$" + formatUSD(v)
  }

  static func micro(_ v: Int64?) -> String { v.map { "$" + MicroUSD($0).description } ?? "-" }

  static func table(_ rows: [[String]]) -> [String] {
    let widths = rows[0].indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
    return rows.map { row in
      var line = "  "
      for (c, cell) in row.enumerated() {
        line += c == row.count - 1 ? cell : cell.padding(toLength: widths[c] + 2, withPad: " ", startingAt: 0)
      }
      return line
    }
  }
}
