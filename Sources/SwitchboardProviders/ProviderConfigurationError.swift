/// A provider instance's settings cannot make an adapter.
public struct ProviderConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
  /// What is wrong, fit for a metric label.
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    private enum Value: String { case unknownKind = "unknown_kind", unknownPreset = "unknown_preset",
                                      missingBaseURL = "missing_base_url", invalidBaseURL = "invalid_base_url",
                                      invalidCatalog = "invalid_catalog", invalidCA = "invalid_ca" }
    private let value: Value
    private init(_ value: Value) { self.value = value }
    /// The `kind` names no HTTP adapter.
    public static let unknownKind = Code(.unknownKind)
    /// The `preset` names no OpenAI-compatible service.
    public static let unknownPreset = Code(.unknownPreset)
    /// The service has no default base URL and the config gives none.
    public static let missingBaseURL = Code(.missingBaseURL)
    /// The base URL is not an http(s) URL.
    public static let invalidBaseURL = Code(.invalidBaseURL)
    /// A model catalog document does not decode.
    public static let invalidCatalog = Code(.invalidCatalog)
    /// The extra CA certificates (`ca_file`) cannot be read or hold no certificate.
    public static let invalidCA = Code(.invalidCA)
    public var description: String { value.rawValue }
  }
  /// The code.
  public var code: Code
  /// A message naming the offending setting.
  public var message: String
  /// Creates an error.
  public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
  public var description: String { "\(code): \(message)" }
}
