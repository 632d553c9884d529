/// The rules step of `strategy: tiered`: a pure function of the request and the
/// route's rules, run before any network call. The first rule whose every
/// condition holds picks the tier; no match is `ambiguous`.
public enum TierRules {
  /// How much of the last user message a rule's pattern is matched against
  /// (characters from its start): bounds the regex work an oversized message can cause.
  public static let maxMatchedCharacters = 8_192

  /// The text rules' patterns match: the last user message's first
  /// ``maxMatchedCharacters`` characters ("" when there is none).
  public static func lastUserText(_ request: ChatRequest) -> Substring {
    guard let m = request.messages.last(where: { $0.role == .user }) else { return "" }
    return m.content.prefix(maxMatchedCharacters)
  }

  /// Classifies `request` by `policy`'s rules.
  public static func classify(_ request: ChatRequest, policy: TieredPolicy) -> TierRuleVerdict {
    classify(request, rules: policy.rules, estimatedInputTokens: TokenEstimator.estimateInputTokens(request))
  }

  /// Classifies `request` by `rules`, given its estimated input tokens.
  public static func classify(_ request: ChatRequest, rules: [TierRule], estimatedInputTokens tokens: Int) -> TierRuleVerdict {
    guard !rules.isEmpty else { return .ambiguous }
    let caps = request.impliedCapabilities
    var text: String?
    rules: for rule in rules {
      guard rule.hasCondition else { continue }
      var held: [String] = []
      if let min = rule.minInputTokens {
        guard tokens >= min else { continue rules }
        held.append("input_tokens \(tokens) >= \(min)")
      }
      if let max = rule.maxInputTokens {
        guard tokens <= max else { continue rules }
        held.append("input_tokens \(tokens) <= \(max)")
      }
      if !rule.requires.isEmpty {
        guard rule.requires.isSubset(of: caps) else { continue rules }
        held.append("requires " + rule.requires.map(\.rawValue).sorted().joined(separator: ","))
      }
      for (key, want) in rule.tags.sorted(by: { $0.key < $1.key }) {
        guard let have = request.tags[key], want == "*" || have == want else { continue rules }
        held.append("tag \(key)=\(want)")
      }
      if let pattern = rule.pattern {
        if text == nil { text = String(lastUserText(request)) }
        guard pattern.matches(text!) else { continue rules }
        held.append("match on the last user message")
      }
      return .matched(tier: rule.tier, rule: rule.name, detail: held.joined(separator: ", "))
    }
    return .ambiguous
  }
}
