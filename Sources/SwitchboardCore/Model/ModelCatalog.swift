/// Prices, limits and capabilities of models, looked up by candidate.
///
/// Entries are keyed by provider instance (`groq/llama-3.3-70b-versatile`);
/// when a provider instance has no entry for a model, the vendor's entry is used
/// (`groq` instance of vendor `groq`, an `openai` instance named `primary` of vendor `openai`).
public struct ModelCatalog: Sendable {
  /// Entries keyed by "vendor/model".
  public var vendorEntries: [String: ModelInfo]
  /// Entries keyed by "instance/model" (config overrides).
  public var instanceEntries: [CandidateRef: ModelInfo]
  /// Vendor of each provider instance.
  public var vendorOf: [String: String]

  /// Creates a catalog.
  public init(vendorEntries: [String: ModelInfo] = [:], instanceEntries: [CandidateRef: ModelInfo] = [:],
              vendorOf: [String: String] = [:]) {
    self.vendorEntries = vendorEntries; self.instanceEntries = instanceEntries; self.vendorOf = vendorOf
  }

  /// The entry for `ref`, or nil when neither the instance nor its vendor lists the model.
  public func info(for ref: CandidateRef) -> ModelInfo? {
    if let e = instanceEntries[ref] { return e }
    if let vendor = vendorOf[ref.provider], let e = vendorEntries["\(vendor)/\(ref.model)"] { return e }
    return vendorEntries[ref.description]
  }
}
