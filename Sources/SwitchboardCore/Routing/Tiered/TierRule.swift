/// One rule of a tiered route: when every condition it states holds, the request
/// goes to `tier`. A rule states at least one condition; conditions left nil or
/// empty are not checked.
public struct TierRule: Sendable {
  /// Shown in `explain` (`rules[2]` when the config names none).
  public var name: String
  /// The tier the rule picks.
  public var tier: String
  /// Estimated input tokens at least this (``TokenEstimator``).
  public var minInputTokens: Int?
  /// Estimated input tokens at most this.
  public var maxInputTokens: Int?
  /// Capabilities the request needs (tools, vision, json_schema, streaming; see
  /// ``ChatRequest/impliedCapabilities``), all of them.
  public var requires: Set<Capability> = []
  /// Request tags that must be present with these values (`*`: any value).
  public var tags: [String: String] = [:]
  /// A regular expression that must match somewhere in the last user message
  /// (its first ``TierRules/maxMatchedCharacters`` characters).
  public var pattern: TierPattern?

  /// Creates a rule.
  public init(name: String, tier: String, minInputTokens: Int? = nil, maxInputTokens: Int? = nil,
              requires: Set<Capability> = [], tags: [String: String] = [:], pattern: TierPattern? = nil) {
    self.name = name; self.tier = tier; self.minInputTokens = minInputTokens; self.maxInputTokens = maxInputTokens
    self.requires = requires; self.tags = tags; self.pattern = pattern
  }

  /// Whether the rule states any condition at all (a rule without one is a config error).
  public var hasCondition: Bool {
    minInputTokens != nil || maxInputTokens != nil || !requires.isEmpty || !tags.isEmpty || pattern != nil
  }
}
