/// What the rules of a tiered route say about one request.
public enum TierRuleVerdict: Sendable, Hashable {
  /// A rule matched: its tier, its name, and which conditions held (never the
  /// request's text).
  case matched(tier: String, rule: String, detail: String)
  /// No rule matched: the router decides.
  case ambiguous
}

