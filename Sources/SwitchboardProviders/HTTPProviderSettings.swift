import SwitchboardCore

/// The config of one HTTP provider instance, as the daemon hands it to `ProviderFactory`.
public struct HTTPProviderSettings: Sendable {
  /// OpenAI-compatible service (`groq`, `azure`, ..., or `custom` for any other
  /// OpenAI-compatible server); default: the kind when it names a preset; with a base
  /// URL `custom` (whatever the instance is called); without one the instance name
  /// when it names a preset, else `openai`.
  public var preset: String?
  /// Base URL (for Azure the resource endpoint); default: the preset's.
  public var baseURL: String?
  /// Extra headers sent with every request; default none.
  public var headers: [String: String]
  /// Azure `api-version` (default `2024-10-21`) or Anthropic `anthropic-version` (default `2023-06-01`).
  public var apiVersion: String?
  /// Whether a key is required; default: the preset's (local servers need none).
  public var requiresKey: Bool?
  /// Overrides the conventional key variable; default: the preset's (`GROQ_API_KEY`).
  public var keyEnvironmentVariable: String?
  /// The catalog, for option translation (reasoning models); default empty (names decide).
  public var catalog: ModelCatalog
  /// Largest response accepted, in bytes; default 32 MiB.
  public var maxResponseBytes: Int
  /// Extra CA certificates (PEM) trusted for this provider's `https://`, besides the
  /// system roots (`ca_file`); default none.
  public var extraCAPEM: String?

  /// Creates settings.
  public init(preset: String? = nil, baseURL: String? = nil, headers: [String: String] = [:], apiVersion: String? = nil,
              requiresKey: Bool? = nil, keyEnvironmentVariable: String? = nil, catalog: ModelCatalog = ModelCatalog(),
              maxResponseBytes: Int = 32 << 20, extraCAPEM: String? = nil) {
    self.preset = preset; self.baseURL = baseURL; self.headers = headers; self.apiVersion = apiVersion
    self.requiresKey = requiresKey; self.keyEnvironmentVariable = keyEnvironmentVariable; self.catalog = catalog
    self.maxResponseBytes = maxResponseBytes; self.extraCAPEM = extraCAPEM
  }
}
