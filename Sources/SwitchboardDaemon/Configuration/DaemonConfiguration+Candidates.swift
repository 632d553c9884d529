import SwitchboardCore
import Yams

/// Candidate lists in the config: a route's `candidates`, a tier's, a router's.
extension DaemonConfiguration {
  /// A list of candidates (`provider/model` or `{target, weight}`), as under a route's `candidates`.
  static func candidateList(_ r: ConfigReader, _ node: Node?, _ path: String, providers: [String: ProviderSettings]) -> [CandidateSpec] {
    var specs: [CandidateSpec] = []
    for (cp, cn) in r.list(node, path) {
      var target: String?
      var weight = 1.0
      if cn.mapping != nil {
        let cm = r.dict(cn, cp, allowed: ["target", "weight"])
        target = r.string(cm["target"], "\(cp).target")
        if target == nil { r.issue("\(cp).target", cn, "required") }
        if let w = r.double(cm["weight"], "\(cp).weight", min: 0) { weight = w }
      } else {
        target = r.string(cn, cp)
      }
      guard let t = target else { continue }
      guard let ref = CandidateRef(parsing: t) else { r.issue(cp, cn, "expected provider/model"); continue }
      if providers[ref.provider] == nil {
        r.issue(cp, cn, "names a provider that is not configured; configured: " + providers.keys.sorted().joined(separator: ", "))
      }
      specs.append(CandidateSpec(ref, weight: weight))
    }
    return specs
  }
}
