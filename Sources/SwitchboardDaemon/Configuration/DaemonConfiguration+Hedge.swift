import SwitchboardCore
import Yams

extension DaemonConfiguration {
  /// The keys of a route's `hedge:` block.
  static let hedgeKeys: Set<String> = ["after_ms", "max_extra", "p95_floor_ms", "p95_fallback_ms", "min_samples"]

  /// Parses `routes.R.hedge`: `{after_ms: N | p95, max_extra: 1, p95_floor_ms, p95_fallback_ms, min_samples}`;
  /// nil when absent.
  static func hedgePolicy(_ r: ConfigReader, _ node: Node?, _ path: String) -> HedgePolicy? {
    guard let node, node.null == nil else { return nil }
    let h = r.dict(node, path, allowed: hedgeKeys)
    guard node.mapping != nil else { return nil }
    var p = HedgePolicy()
    if let after = h["after_ms"] {
      if after.scalar != nil, after.int == nil, after.string == "p95" {
        p.delay = .p95
      } else if after.scalar != nil, after.int == nil {
        r.issue("\(path).after_ms", after, "expected milliseconds (an integer) or p95")
      } else if let v = r.millis(after, "\(path).after_ms", min: 1) {
        p.delay = .fixed(v)
      }
    } else {
      r.issue("\(path).after_ms", node, "required: milliseconds or p95")
    }
    if let v = r.int(h["max_extra"], "\(path).max_extra", min: 1, max: 3) { p.maxExtra = v }
    if let v = r.millis(h["p95_floor_ms"], "\(path).p95_floor_ms", min: 1) { p.p95Floor = v }
    if let v = r.millis(h["p95_fallback_ms"], "\(path).p95_fallback_ms", min: 1) { p.p95Fallback = v }
    if let v = r.int(h["min_samples"], "\(path).min_samples", min: 1, max: CandidateStatsBoard.maxSamples) { p.minSamples = v }
    return p
  }
}
