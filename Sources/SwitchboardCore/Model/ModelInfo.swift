/// Catalog entry for one model of one provider: prices, limits, capabilities.
public struct ModelInfo: Codable, Hashable, Sendable {
  /// USD per one million input tokens; nil when unknown.
  public var inputPerMillion: Double?
  /// USD per one million output tokens; nil when unknown.
  public var outputPerMillion: Double?
  /// USD per one million cached input tokens; nil = same as input.
  public var cachedInputPerMillion: Double?
  /// USD per one million cache-write input tokens; nil = same as input.
  public var cacheWritePerMillion: Double?
  /// Context window in tokens (prompt + output).
  public var contextWindow: Int
  /// Largest `max_tokens` the model accepts.
  public var maxOutputTokens: Int
  /// What the model supports.
  public var capabilities: Set<Capability>
  /// Reasoning models take `max_completion_tokens` and no temperature.
  public var reasoning: Bool
  /// USD per one million input tokens to budget with when the real price is unknown
  /// (config `assumed_price`); never shown as the real cost.
  public var assumedInputPerMillion: Double? = nil
  /// USD per one million output tokens to budget with when the real price is unknown.
  public var assumedOutputPerMillion: Double? = nil

  /// Creates a catalog entry.
  public init(
    inputPerMillion: Double? = nil, outputPerMillion: Double? = nil,
    cachedInputPerMillion: Double? = nil, cacheWritePerMillion: Double? = nil,
    contextWindow: Int = 8192, maxOutputTokens: Int = 4096,
    capabilities: Set<Capability> = [.streaming], reasoning: Bool = false
  ) {
    self.inputPerMillion = inputPerMillion
    self.outputPerMillion = outputPerMillion
    self.cachedInputPerMillion = cachedInputPerMillion
    self.cacheWritePerMillion = cacheWritePerMillion
    self.contextWindow = contextWindow
    self.maxOutputTokens = maxOutputTokens
    self.capabilities = capabilities
    self.reasoning = reasoning
  }

  /// Exact integer prices (pico-USD per token) the ledger charges with: the real
  /// prices, else the assumed ones; nil when neither is known.
  public var budgetPrices: BudgetPrices? {
    if let i = inputPerMillion, let o = outputPerMillion {
      return BudgetPrices(input: MicroUSD.picoPerToken(usdPerMillion: i), output: MicroUSD.picoPerToken(usdPerMillion: o),
                          cachedInput: MicroUSD.picoPerToken(usdPerMillion: cachedInputPerMillion ?? i),
                          cacheWrite: MicroUSD.picoPerToken(usdPerMillion: cacheWritePerMillion ?? i), assumed: false)
    }
    if let i = assumedInputPerMillion, let o = assumedOutputPerMillion {
      let pi = MicroUSD.picoPerToken(usdPerMillion: i)
      return BudgetPrices(input: pi, output: MicroUSD.picoPerToken(usdPerMillion: o), cachedInput: pi, cacheWrite: pi, assumed: true)
    }
    return nil
  }

  /// Whether both input and output prices are known.
  public var hasKnownPrices: Bool { inputPerMillion != nil && outputPerMillion != nil }

  /// Itemised cost of `usage`; nil when a needed price is unknown (never a guess).
  public func cost(of usage: Usage) -> CostBreakdown? {
    guard let inP = inputPerMillion, let outP = outputPerMillion else { return nil }
    let cached = max(0, usage.cachedInputTokens)
    let writes = max(0, usage.cacheWriteTokens)
    let plain = max(0, usage.inputTokens - cached - writes)
    let input = Double(plain) * inP / 1_000_000
    let cachedCost = Double(cached) * (cachedInputPerMillion ?? inP) / 1_000_000
    let writeCost = Double(writes) * (cacheWritePerMillion ?? inP) / 1_000_000
    let output = Double(usage.outputTokens) * outP / 1_000_000
    return CostBreakdown(input: input, cachedInput: cachedCost, cacheWrite: writeCost, output: output)
  }

  /// Worst-case cost of a request: estimated input at the input price plus
  /// `maxTokens` at the output price. Nil when a price is unknown.
  public func worstCaseCost(estimatedInputTokens: Int, maxTokens: Int) -> Double? {
    guard let inP = inputPerMillion, let outP = outputPerMillion else { return nil }
    return Double(estimatedInputTokens) * inP / 1_000_000 + Double(maxTokens) * outP / 1_000_000
  }
}

/// A cost split into its parts, in USD.
public struct CostBreakdown: Codable, Hashable, Sendable {
  /// Uncached input tokens.
  public var input: Double
  /// Cached input tokens.
  public var cachedInput: Double
  /// Cache-write input tokens.
  public var cacheWrite: Double
  /// Output tokens.
  public var output: Double
  /// The sum of the parts.
  public var total: Double { input + cachedInput + cacheWrite + output }
  /// Creates a breakdown.
  public init(input: Double, cachedInput: Double, cacheWrite: Double, output: Double) {
    self.input = input; self.cachedInput = cachedInput; self.cacheWrite = cacheWrite; self.output = output
  }
}

/// Token counts of one call.
public struct Usage: Codable, Hashable, Sendable {
  /// Input (prompt) tokens, including cached and cache-write ones.
  public var inputTokens: Int
  /// Output (completion) tokens.
  public var outputTokens: Int
  /// Input tokens served from the provider's prompt cache.
  public var cachedInputTokens: Int
  /// Input tokens written to the provider's prompt cache.
  public var cacheWriteTokens: Int
  /// Creates a usage record.
  public init(inputTokens: Int = 0, outputTokens: Int = 0, cachedInputTokens: Int = 0, cacheWriteTokens: Int = 0) {
    self.inputTokens = inputTokens; self.outputTokens = outputTokens
    self.cachedInputTokens = cachedInputTokens; self.cacheWriteTokens = cacheWriteTokens
  }
  /// No tokens.
  public static let zero = Usage()
}
