import Foundation
import SwitchboardCore

/// One decision as a line of `switchboard decisions`. Pure: no I/O.
///
/// `2026-12-01T17:00:00Z d1f0-7 tenant=acme route=chat outcome=success
/// served_by=sim-b/claude attempts=1 skipped=1 cost_usd=0.00066 why=sim-a/llama:circuit_open(skipped)`
///
/// `attempts` counts the calls that reached a provider; `skipped` the candidates
/// passed over without a call, by the planner (circuit open, budget, capability,
/// ...) or at attempt time (a circuit that opened meanwhile, a reservation that
/// did not fit, a missing key). `why` names, in order, every candidate that did
/// not serve and its reason (a failed attempt's reason with the timeout that fired,
/// `(skipped)` for a skip), then the request's own reason when it failed.
public enum DecisionListLine {
  /// The line for `event`.
  public static func render(_ e: DecisionEvent) -> String {
    let time = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(e.timestampMs) / 1000))
    let served = e.chosenProvider.flatMap { p in e.chosenModel.map { "\(p)/\($0)" } } ?? "-"
    let rejected = e.candidates.filter { !$0.eligible }
    var line = "\(time) \(e.requestID) tenant=\(e.tenant) route=\(e.route.isEmpty ? "-" : e.route) outcome=\(e.outcome.rawValue)"
    line += " served_by=\(served) attempts=\(e.attemptsMade) skipped=\(e.attemptsSkipped + rejected.count)"
    line += " cost_usd=\(e.costUSD.map(formatUSD) ?? "unknown")"
    // A fallback's price against the baseline (the route's first candidate).
    if let r = e.costRatioToBaseline, e.chosenProvider != e.baselineProvider || e.chosenModel != e.baselineModel {
      line += " vs_baseline=\(DecisionExplainer.ratio(r))"
    }
    var why: [String] = rejected.map { "\($0.provider)/\($0.model):\($0.rejection?.rawValue ?? "rejected")(skipped)" }
    for a in e.attempts where a.outcome != .success {
      var w = "\(a.provider)/\(a.model):\(a.reason?.rawValue ?? a.outcome.rawValue)"
      if let t = a.timeoutFired { w += "[\(t)]" }
      if a.outcome == .skipped { w += "(skipped)" }
      why.append(w)
    }
    if e.outcome != .success, let r = e.reason { why.append(r.rawValue) }
    if !why.isEmpty { line += " why=" + why.joined(separator: ",") }
    if let tags = e.tags, !tags.isEmpty {
      line += " tags=" + tags.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }
    return line
  }
}
