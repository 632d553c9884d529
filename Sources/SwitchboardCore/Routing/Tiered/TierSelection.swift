/// The outcome of the tier step of one request: what goes in the decision event,
/// the candidates to plan, and what the router call spent.
struct TierSelection {
  /// The decision event's tier record.
  var record: TierDecisionRecord
  /// The chosen tier's candidates, minus router endpoints that failed in this
  /// request (unless that would leave none).
  var candidates: [CandidateSpec]
  /// Charged for the router calls (already settled in the ledger).
  var charged = MicroUSD.zero
  /// How far the router calls' charges went over their reservations.
  var overage = MicroUSD.zero
  var warnings: [String] = []
  /// The request was cancelled during the router call: do not run the tier.
  var cancelled = false

  /// Classifies `request` on `policy`: rules first; only when they are ambiguous,
  /// the router call (`router`), whose every failure means `default_tier`.
  static func select(_ policy: TieredPolicy, request: ChatRequest, router: TierRouterCall?,
                     start: Instant, overallDeadline: Instant) async -> TierSelection {
    switch TierRules.classify(request, policy: policy) {
    case .matched(let tier, let rule, let detail):
      var record = TierDecisionRecord(tier: tier, source: .rule, reason: .tierRule)
      record.rule = rule
      record.ruleDetail = detail
      return TierSelection(record: record, candidates: policy.tier(tier)?.candidates ?? [])
    case .ambiguous:
      break
    }
    let fallback = policy.router.defaultTier
    guard let router, !policy.router.candidates.isEmpty else {
      return TierSelection(record: TierDecisionRecord(tier: fallback, source: .default, reason: .noRouter),
                           candidates: policy.tier(fallback)?.candidates ?? [])
    }
    let out = await router.run(start: start, overallDeadline: overallDeadline)
    var record: TierDecisionRecord
    switch out.answer {
    case .success(let parsed):
      record = TierDecisionRecord(tier: parsed.tier, source: .router, reason: .tierRouter)
      record.routerTier = parsed.tier
      record.routerReason = parsed.reason
    case .failure(let f):
      record = TierDecisionRecord(tier: fallback, source: .default, reason: f.reason)
      record.routerReason = f.message
    }
    record.routerAttempts = out.attempts
    record.routerLatencyMs = out.latency.milliseconds
    record.routerCostMicroUSD = out.charged.value
    // Request-scoped exclusion: an endpoint that just failed as the router is not
    // the first thing to send the real request to; it stays when it is all the tier has.
    var candidates = policy.tier(record.tier)?.candidates ?? []
    let failed = Set(out.failedEndpoints)
    let kept = candidates.filter { !failed.contains($0.ref) }
    if !kept.isEmpty, kept.count < candidates.count {
      record.excluded = candidates.filter { failed.contains($0.ref) }.map(\.ref.description)
      candidates = kept
    }
    var selection = TierSelection(record: record, candidates: candidates, charged: out.charged, overage: out.overage,
                                  warnings: out.warnings)
    selection.cancelled = record.reason == .routerCancelled
    return selection
  }
}
