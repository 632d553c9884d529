import SwitchboardCore
import Yams

/// `strategy: tiered` in the config: `tiers`, `rules` and `router` of a route.
/// Every issue names the key path and line and what was expected; none repeats a
/// value from the file (a pattern or prompt may hold anything).
extension DaemonConfiguration {
  /// Route keys only a tiered route takes.
  static let tieredRouteKeys: Set<String> = ["tiers", "rules", "router"]

  /// Parses the tiered keys of the route at `path` into `route.tiered` (and sets
  /// `route.candidates` to every tier's candidates); reports them on a route of
  /// another strategy.
  static func parseTiered(_ r: ConfigReader, _ rt: [String: Node], _ path: String, providers: [String: ProviderSettings],
                          _ route: inout RoutePolicy) {
    guard route.strategy == .tiered, route.customStrategyName == nil else {
      for key in tieredRouteKeys.sorted() where rt[key] != nil {
        r.issue("\(path).\(key)", rt[key], "only a route with strategy: tiered takes \(key)")
      }
      return
    }
    if rt["candidates"] != nil {
      r.issue("\(path).candidates", rt["candidates"], "a tiered route lists its candidates under tiers, not candidates")
    }
    guard rt["tiers"] != nil else {
      r.issue("\(path).tiers", rt["strategy"], "strategy: tiered needs tiers (name: [provider/model, ...])")
      return
    }
    var tiers: [Tier] = []
    for (name, node) in r.mapping(rt["tiers"], "\(path).tiers") {
      let tp = "\(path).tiers.\(name)"
      guard isTierName(name) else {
        r.issue(tp, node, "a tier name is 1-64 letters, digits, '_' or '-'")
        continue
      }
      var candidatesNode: Node? = node
      var description = ""
      if node.mapping != nil {
        let m = r.dict(node, tp, allowed: ["candidates", "description"])
        candidatesNode = m["candidates"]
        if let d = r.string(m["description"], "\(tp).description") {
          if d.utf8.count > 1_000 { r.issue("\(tp).description", m["description"], "must be at most 1000 bytes") } else { description = d }
        }
      }
      let specs = candidateList(r, candidatesNode, node.mapping != nil ? "\(tp).candidates" : tp, providers: providers)
      if specs.isEmpty && !r.issues.contains(where: { $0.path.hasPrefix(tp) }) {
        r.issue(tp, node, "a tier needs at least one candidate")
      }
      tiers.append(Tier(name: name, candidates: specs, description: description))
    }
    if tiers.isEmpty && !r.issues.contains(where: { $0.path.hasPrefix("\(path).tiers") }) {
      r.issue("\(path).tiers", rt["tiers"], "strategy: tiered needs at least one tier")
    }
    let names = Set(tiers.map(\.name))
    func checkTier(_ node: Node?, _ p: String) -> String? {
      guard let t = r.string(node, p) else { return nil }
      guard names.contains(t) else {
        r.issue(p, node, "not a tier of this route; its tiers: " + tiers.map(\.name).joined(separator: ", "))
        return nil
      }
      return t
    }

    // rules
    var rules: [TierRule] = []
    for (rp, rn) in r.list(rt["rules"], "\(path).rules") {
      let m = r.dict(rn, rp, allowed: ["name", "tier", "min_input_tokens", "max_input_tokens", "require", "tags", "match"])
      if rn.mapping == nil { continue }
      let label = String(rp.dropFirst(path.count + 1))  // rules[N]
      var rule = TierRule(name: label, tier: "")
      if let n = r.string(m["name"], "\(rp).name") {
        if n.isEmpty || n.utf8.count > 64 { r.issue("\(rp).name", m["name"], "must be 1-64 bytes") } else { rule.name = n }
      }
      if m["tier"] == nil { r.issue("\(rp).tier", rn, "required") }
      guard let tier = checkTier(m["tier"], "\(rp).tier") else { continue }
      rule.tier = tier
      rule.minInputTokens = r.int(m["min_input_tokens"], "\(rp).min_input_tokens", min: 0, max: 100_000_000)
      rule.maxInputTokens = r.int(m["max_input_tokens"], "\(rp).max_input_tokens", min: 0, max: 100_000_000)
      if let lo = rule.minInputTokens, let hi = rule.maxInputTokens, lo > hi {
        r.issue("\(rp).min_input_tokens", m["min_input_tokens"], "must not be above max_input_tokens")
      }
      rule.requires = Set(r.list(m["require"], "\(rp).require").compactMap { r.oneOf($0.1, $0.0, Capability.self) })
      for (k, v) in r.mapping(m["tags"], "\(rp).tags") {
        if let s = r.string(v, "\(rp).tags.\(k)") { rule.tags[k] = s }
      }
      if let pattern = r.string(m["match"], "\(rp).match") {
        if pattern.isEmpty || pattern.utf8.count > 4_096 {
          r.issue("\(rp).match", m["match"], "must be 1-4096 bytes")
        } else if let compiled = TierPattern(pattern) {
          rule.pattern = compiled
        } else {
          r.issue("\(rp).match", m["match"], "not a valid regular expression")
        }
      }
      if !rule.hasCondition && !r.issues.contains(where: { $0.path.hasPrefix(rp) }) {
        r.issue(rp, rn, "a rule needs at least one condition: min_input_tokens, max_input_tokens, require, tags or match")
      }
      rules.append(rule)
    }

    // router
    let rp = "\(path).router"
    let m = r.dict(rt["router"], rp, allowed: ["candidates", "timeout_ms", "prompt", "default_tier", "choices", "max_tokens", "max_input_chars"])
    if rt["router"] == nil { r.issue(rp, rt["strategy"], "strategy: tiered needs a router block with at least default_tier") }
    if rt["router"] != nil && m["default_tier"] == nil { r.issue("\(rp).default_tier", rt["router"], "required") }
    let defaultTier = checkTier(m["default_tier"], "\(rp).default_tier") ?? tiers.first?.name ?? ""
    var router = TierRouterPolicy(defaultTier: defaultTier)
    router.candidates = candidateList(r, m["candidates"], "\(rp).candidates", providers: providers).map(\.ref)
    if let v = r.millis(m["timeout_ms"], "\(rp).timeout_ms", max: 60_000) { router.timeout = v }
    if let p = r.string(m["prompt"], "\(rp).prompt") {
      if p.isEmpty || p.utf8.count > 16_384 { r.issue("\(rp).prompt", m["prompt"], "must be 1-16384 bytes") } else { router.prompt = p }
    }
    router.choices = r.list(m["choices"], "\(rp).choices").compactMap { checkTier($0.1, $0.0) }
    if m["choices"] != nil && router.choices.isEmpty && !r.issues.contains(where: { $0.path.hasPrefix("\(rp).choices") }) {
      r.issue("\(rp).choices", m["choices"], "must name at least one tier (or be left out: every tier)")
    }
    if let v = r.int(m["max_tokens"], "\(rp).max_tokens", min: 1, max: 4_096) { router.maxTokens = v }
    if let v = r.int(m["max_input_chars"], "\(rp).max_input_chars", min: 1, max: 100_000) { router.maxInputCharacters = v }

    let policy = TieredPolicy(tiers: tiers, rules: rules, router: router)
    route.candidates = policy.allCandidates
    route.tiered = policy
  }

  /// Whether `name` is a valid tier name (it goes into the router's JSON schema and prompt).
  static func isTierName(_ name: String) -> Bool {
    !name.isEmpty && name.utf8.count <= 64
      && name.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "_" || $0 == "-" }
  }
}
