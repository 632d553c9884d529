import AsyncHTTPClient
import Logging
import SwitchboardCore

/// Builds HTTP provider adapters from config.
public enum ProviderFactory {
  /// The kinds `make` accepts: `openai`, `anthropic`, and every `OpenAIPreset` name
  /// (`groq`, `azure`, ... as shorthand for kind `openai` with that preset).
  public static var supportedKinds: [String] { ["openai", "anthropic"] + OpenAIPreset.allCases.map(\.rawValue).filter { $0 != "openai" } }

  /// Makes the adapter of provider instance `name`. `httpClient` is shared by
  /// all adapters (configure it with `HTTPProviderAdapterDefaults.clientConfiguration()`)
  /// and must outlive them; so must `leanClient`, which (when given) serves them
  /// (`http://` and `https://`). Throws `ProviderConfigurationError`.
  public static func make(name: String, kind: String, settings: HTTPProviderSettings, httpClient: HTTPClient,
                          leanClient: LeanHTTPClient? = nil,
                          logger: Logger = HTTPProviderAdapterDefaults.logger) throws -> any ProviderAdapter {
    let headers = settings.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    let tls = try settings.extraCAPEM.map { try ProviderTLS(extraCAPEM: $0, provider: name) }
    switch kind.lowercased() {
    case "anthropic":
      let dialect = try AnthropicDialect(baseURL: settings.baseURL, apiVersion: settings.apiVersion, extraHeaders: headers,
                                         requiresKey: settings.requiresKey,
                                         keyEnvironmentVariable: settings.keyEnvironmentVariable)
      return HTTPProviderAdapter(name: name, dialect: dialect, httpClient: httpClient, leanClient: leanClient, tls: tls, catalog: settings.catalog,
                                 maxResponseBytes: settings.maxResponseBytes, logger: logger)
    default:
      let preset = try self.preset(name: name, kind: kind, settings: settings)
      let dialect = try OpenAIDialect(preset: preset, baseURL: settings.baseURL, extraHeaders: headers,
                                      apiVersion: settings.apiVersion, requiresKey: settings.requiresKey,
                                      keyEnvironmentVariable: settings.keyEnvironmentVariable)
      return HTTPProviderAdapter(name: name, dialect: dialect, httpClient: httpClient, leanClient: leanClient, tls: tls, catalog: settings.catalog,
                                 maxResponseBytes: settings.maxResponseBytes, logger: logger)
    }
  }

  /// The OpenAI-compatible preset an instance resolves to.
  public static func preset(name: String, kind: String, settings: HTTPProviderSettings) throws -> OpenAIPreset {
    let kind = kind.lowercased()
    if let explicit = settings.preset {
      guard let p = OpenAIPreset(rawValue: explicit.lowercased()) else {
        throw ProviderConfigurationError(.unknownPreset, "providers.\(name).preset: unknown preset '\(explicit)' "
          + "(known: \(OpenAIPreset.allCases.map(\.rawValue).joined(separator: ", ")))")
      }
      return p
    }
    if kind != "openai" {
      guard let p = OpenAIPreset(rawValue: kind) else {
        throw ProviderConfigurationError(.unknownKind, "providers.\(name).kind: unknown kind '\(kind)' "
          + "(known: \(supportedKinds.joined(separator: ", ")))")
      }
      return p
    }
    // With a base URL and no explicit preset, the server is a generic
    // OpenAI-compatible one, whatever the instance is called (a provider named
    // `openai` pointing at a local server must not get OpenAI's key and quirks).
    if settings.baseURL != nil { return .custom }
    if let p = OpenAIPreset(rawValue: name.lowercased()), p != .custom {
      return p
    }
    return .openai
  }

  /// The catalog vendor of an instance (`ModelCatalog.vendorOf`): `anthropic`, or the
  /// preset's vendor (`groq`; Azure deployments use `openai` entries); nil when unknown.
  public static func vendor(name: String, kind: String, settings: HTTPProviderSettings) -> String? {
    if kind.lowercased() == "anthropic" { return "anthropic" }
    guard let preset = try? preset(name: name, kind: kind, settings: settings), preset != .custom else { return nil }
    return preset.catalogVendor
  }
}
