/// A model's prices as exact integers (pico-USD per token = micro-USD per million tokens).
public struct BudgetPrices: Sendable, Hashable {
  /// Uncached input, pico-USD per token.
  public var input: Int64
  /// Output, pico-USD per token.
  public var output: Int64
  /// Cached input, pico-USD per token.
  public var cachedInput: Int64
  /// Cache-write input, pico-USD per token.
  public var cacheWrite: Int64
  /// Whether these are the config's `assumed_price`, not the real prices.
  public var assumed: Bool

  /// The cost of `usage`, rounded up once to whole micro-USD.
  public func cost(of usage: Usage) -> MicroUSD {
    let cached = max(0, usage.cachedInputTokens), writes = max(0, usage.cacheWriteTokens)
    let plain = max(0, usage.inputTokens - cached - writes)
    return Self.sum([(plain, input), (cached, cachedInput), (writes, cacheWrite), (max(0, usage.outputTokens), output)])
  }

  /// The most `inputTokens` in and `outputTokens` out can cost, whatever part of the
  /// input is cached or written to the cache. Never below ``cost(of:)`` of a usage
  /// within those counts.
  public func worstCase(inputTokens: Int, outputTokens: Int) -> MicroUSD {
    Self.sum([(max(0, inputTokens), max(input, cachedInput, cacheWrite)), (max(0, outputTokens), output)])
  }

  static func sum(_ parts: [(Int, Int64)]) -> MicroUSD {
    var pico: Int64 = 0
    for (tokens, price) in parts where tokens > 0 && price > 0 {
      let (p, o1) = Int64(tokens).multipliedReportingOverflow(by: price)
      let (t, o2) = pico.addingReportingOverflow(p)
      if o1 || o2 { return MicroUSD(.max) }
      pico = t
    }
    return MicroUSD(pico / 1_000_000 + (pico % 1_000_000 == 0 ? 0 : 1))
  }
}
