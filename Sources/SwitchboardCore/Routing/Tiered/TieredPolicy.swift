/// `strategy: tiered` on a route: named tiers of candidates (e.g. fast / balanced /
/// deep), rules that pick a tier before any network call, and an LLM router that
/// classifies the request when the rules are ambiguous.
///
/// A request runs in two steps: ``TierRules/classify(_:policy:)`` (pure), then —
/// only when it answers `ambiguous` — one router call (``TierRouterCall``) under
/// its own timeout and budget reservation, whose answer can only be one of the
/// declared tiers; every failure of it falls back to ``TierRouterPolicy/defaultTier``.
/// The chosen tier's candidates then run through the normal planner and executor.
public struct TieredPolicy: Sendable {
  /// The tiers, in config order (names unique).
  public var tiers: [Tier]
  /// The rules, first match wins.
  public var rules: [TierRule]
  /// The router and the default tier.
  public var router: TierRouterPolicy

  /// Creates a policy.
  public init(tiers: [Tier], rules: [TierRule] = [], router: TierRouterPolicy) {
    self.tiers = tiers; self.rules = rules; self.router = router
  }

  /// The tier named `name`.
  public func tier(_ name: String) -> Tier? { tiers.first { $0.name == name } }

  /// Every tier's candidates in tier order, each once (the route's `candidates`).
  public var allCandidates: [CandidateSpec] {
    var seen = Set<CandidateRef>()
    var out: [CandidateSpec] = []
    for t in tiers { for c in t.candidates where seen.insert(c.ref).inserted { out.append(c) } }
    return out
  }
}

