import Foundation
import SwitchboardCore

/// Loads model catalogs: the one shipped with Switchboard and config overrides of the same shape.
///
/// The document is an object keyed `"vendor/model"` (members starting with `_` are
/// notes), each entry:
/// `{"input": 2.5, "output": 10, "cached_input": 1.25, "cache_write": 3.75, "context": 128000,
///   "max_output": 16384, "capabilities": ["tools", "vision"], "reasoning": false}`
/// with prices in USD per one million tokens.
public enum ModelCatalogLoader {
  /// One entry as written in JSON (or decoded from YAML by the daemon).
  public struct Entry: Codable, Hashable, Sendable {
    public var input: Double?
    public var output: Double?
    public var cachedInput: Double?
    public var cacheWrite: Double?
    public var context: Int?
    public var maxOutput: Int?
    public var capabilities: [Capability]?
    public var reasoning: Bool?

    enum CodingKeys: String, CodingKey {
      case input, output, context, capabilities, reasoning
      case cachedInput = "cached_input", cacheWrite = "cache_write", maxOutput = "max_output"
    }

    /// Creates an entry.
    public init(input: Double? = nil, output: Double? = nil, cachedInput: Double? = nil, cacheWrite: Double? = nil,
                context: Int? = nil, maxOutput: Int? = nil, capabilities: [Capability]? = nil, reasoning: Bool? = nil) {
      self.input = input; self.output = output; self.cachedInput = cachedInput; self.cacheWrite = cacheWrite
      self.context = context; self.maxOutput = maxOutput; self.capabilities = capabilities; self.reasoning = reasoning
    }

    /// The core catalog entry; absent fields fall back to `base` (an override of a
    /// shipped entry changes only what it names), else to `ModelInfo`'s defaults.
    public func modelInfo(over base: ModelInfo? = nil) -> ModelInfo {
      let d = base ?? ModelInfo()
      return ModelInfo(inputPerMillion: input ?? d.inputPerMillion, outputPerMillion: output ?? d.outputPerMillion,
                       cachedInputPerMillion: cachedInput ?? d.cachedInputPerMillion,
                       cacheWritePerMillion: cacheWrite ?? d.cacheWritePerMillion,
                       contextWindow: context ?? d.contextWindow, maxOutputTokens: maxOutput ?? d.maxOutputTokens,
                       capabilities: capabilities.map(Set.init) ?? d.capabilities, reasoning: reasoning ?? d.reasoning)
    }
  }

  /// The catalog shipped in the bundle, keyed `"vendor/model"`.
  public static func loadBundled() throws -> [String: ModelInfo] {
    guard let url = Bundle.module.url(forResource: "catalog", withExtension: "json") else {
      throw ProviderConfigurationError(.invalidCatalog, "catalog.json is missing from the SwitchboardProviders bundle")
    }
    return try decode(Data(contentsOf: url), source: "catalog.json")
  }

  /// Decodes a catalog document (the bundled shape) into entries keyed `"vendor/model"`.
  /// Entries present in `base` are overridden field by field.
  public static func decode(_ data: Data, base: [String: ModelInfo] = [:], source: String = "catalog") throws
    -> [String: ModelInfo]
  {
    let entries = try decodeEntries(data, source: source)
    var out = base
    for (key, entry) in entries { out[key] = entry.modelInfo(over: base[key]) }
    return out
  }

  /// Decodes the raw entries of a catalog document, skipping `_`-prefixed notes.
  public static func decodeEntries(_ data: Data, source: String = "catalog") throws -> [String: Entry] {
    let raw: [String: JSONValue]
    do {
      raw = try JSONCoding.decoder.decode([String: JSONValue].self, from: data)
    } catch {
      throw ProviderConfigurationError(.invalidCatalog, "\(source): not a JSON object of entries: \(error)")
    }
    var out: [String: Entry] = [:]
    for (key, value) in raw where !key.hasPrefix("_") {
      guard key.contains("/") else {
        throw ProviderConfigurationError(.invalidCatalog, "\(source): key '\(key)' must be \"vendor/model\"")
      }
      do {
        out[key] = try JSONCoding.decoder.decode(Entry.self, from: Data(value.jsonText.utf8))
      } catch {
        throw ProviderConfigurationError(.invalidCatalog, "\(source): entry '\(key)': \(error)")
      }
    }
    return out
  }
}
