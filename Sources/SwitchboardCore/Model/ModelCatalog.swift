/// Prices, limits and capabilities of models, looked up by candidate.
///
/// Entries are keyed by provider instance (`groq/llama-3.3-70b-versatile`);
/// when a provider instance has no entry for a model, the vendor's entry is used
/// (`groq` instance of vendor `groq`, an `openai` instance named `primary` of vendor `openai`).
public struct ModelCatalog: Sendable {
  /// Entries keyed by "vendor/model".
  public var vendorEntries: [String: ModelInfo]
  /// Whole entries keyed by "instance/model".
  public var instanceEntries: [CandidateRef: ModelInfo]
  /// Config overrides keyed by "instance/model", merged field by field over the
  /// entry the instance would otherwise get (its own or its vendor's).
  public var overrides: [CandidateRef: ModelOverride]
  /// Vendor of each provider instance.
  public var vendorOf: [String: String]

  /// Creates a catalog.
  public init(vendorEntries: [String: ModelInfo] = [:], instanceEntries: [CandidateRef: ModelInfo] = [:],
              overrides: [CandidateRef: ModelOverride] = [:], vendorOf: [String: String] = [:]) {
    self.vendorEntries = vendorEntries; self.instanceEntries = instanceEntries; self.overrides = overrides
    self.vendorOf = vendorOf
  }

  /// The entry for `ref`, or nil when neither an override, the instance nor its vendor lists the model.
  public func info(for ref: CandidateRef) -> ModelInfo? {
    let base = baseInfo(for: ref)
    if let o = overrides[ref] { return o.applied(over: base) }
    return base
  }

  private func baseInfo(for ref: CandidateRef) -> ModelInfo? {
    if let e = instanceEntries[ref] { return e }
    if let vendor = vendorOf[ref.provider], let e = vendorEntries["\(vendor)/\(ref.model)"] { return e }
    return vendorEntries[ref.description]
  }
}
