/// A retry budget as a token bucket, in the spirit of gRPC's retry throttling
/// (`RetryThrottle`): the bucket starts full with `maxTokens`; every transient
/// failure takes one token, every success gives back `tokenRatio`; a retry is
/// permitted only while more than half the tokens are left. Under a failure storm
/// retries stop after about `maxTokens / 2` failures and come back only as
/// successes refill the bucket, so retries add at most about `tokenRatio` of the
/// successful load. Pure value type; amounts are kept in thousandths (integers).
public struct RetryBudget: Sendable, Hashable {
  /// Settings of a budget.
  public struct Policy: Sendable, Hashable {
    /// Bucket size (1...1000); 0 turns the budget off (every retry permitted).
    public var maxTokens: Int = 10
    /// Tokens a success gives back (0.001...1).
    public var tokenRatio: Double = 0.1
    /// Creates the default policy: 10 tokens, 0.1 per success.
    public init(maxTokens: Int = 10, tokenRatio: Double = 0.1) { self.maxTokens = maxTokens; self.tokenRatio = tokenRatio }
  }

  private var scaledTokens: Int
  private let scaledMax: Int
  private let scaledRatio: Int

  /// A full bucket for `policy`.
  public init(policy: Policy) {
    scaledMax = max(0, min(1000, policy.maxTokens)) * 1000
    scaledRatio = max(1, Int((policy.tokenRatio * 1000).rounded()))
    scaledTokens = scaledMax
  }

  /// Tokens left.
  public var tokens: Double { Double(scaledTokens) / 1000 }

  /// Whether a retry may be sent now.
  public var isRetryPermitted: Bool { scaledMax == 0 || scaledTokens > scaledMax / 2 }

  /// An attempt succeeded.
  public mutating func recordSuccess() { scaledTokens = min(scaledMax, scaledTokens + scaledRatio) }

  /// An attempt failed transiently.
  public mutating func recordFailure() { scaledTokens = max(0, scaledTokens - 1000) }
}
