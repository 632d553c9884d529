/// A config override of one catalog entry: only the fields it names. It is
/// merged field by field over the bundled entry of the model (so `models:
/// {groq/llama: {input: 0.5}}` changes the input price and keeps the bundled
/// context window, output cap, other prices and capabilities); a model the bundle
/// does not know starts from `ModelInfo`'s defaults.
public struct ModelOverride: Sendable, Hashable {
  public var inputPerMillion: Double?
  public var outputPerMillion: Double?
  public var cachedInputPerMillion: Double?
  public var cacheWritePerMillion: Double?
  public var contextWindow: Int?
  public var maxOutputTokens: Int?
  /// Replaces the capability set when given.
  public var capabilities: Set<Capability>?
  public var reasoning: Bool?
  /// Prices assumed for budgeting when the real ones are unknown (`assumed_price`).
  public var assumedInputPerMillion: Double?
  public var assumedOutputPerMillion: Double?

  /// Creates an override; nil fields keep the base entry's values.
  public init(inputPerMillion: Double? = nil, outputPerMillion: Double? = nil, cachedInputPerMillion: Double? = nil,
              cacheWritePerMillion: Double? = nil, contextWindow: Int? = nil, maxOutputTokens: Int? = nil,
              capabilities: Set<Capability>? = nil, reasoning: Bool? = nil) {
    self.inputPerMillion = inputPerMillion; self.outputPerMillion = outputPerMillion
    self.cachedInputPerMillion = cachedInputPerMillion; self.cacheWritePerMillion = cacheWritePerMillion
    self.contextWindow = contextWindow; self.maxOutputTokens = maxOutputTokens
    self.capabilities = capabilities; self.reasoning = reasoning
  }

  /// The entry with this override applied over `base` (nil: `ModelInfo()` defaults).
  public func applied(over base: ModelInfo?) -> ModelInfo {
    let d = base ?? ModelInfo()
    var info = ModelInfo(inputPerMillion: inputPerMillion ?? d.inputPerMillion, outputPerMillion: outputPerMillion ?? d.outputPerMillion,
                         cachedInputPerMillion: cachedInputPerMillion ?? d.cachedInputPerMillion,
                         cacheWritePerMillion: cacheWritePerMillion ?? d.cacheWritePerMillion,
                         contextWindow: contextWindow ?? d.contextWindow, maxOutputTokens: maxOutputTokens ?? d.maxOutputTokens,
                         capabilities: capabilities ?? d.capabilities, reasoning: reasoning ?? d.reasoning)
    info.assumedInputPerMillion = assumedInputPerMillion ?? d.assumedInputPerMillion
    info.assumedOutputPerMillion = assumedOutputPerMillion ?? d.assumedOutputPerMillion
    return info
  }
}
