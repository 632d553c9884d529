/// Known OpenAI-compatible services: default base URL, key variable and quirks.
public enum OpenAIPreset: String, CaseIterable, Sendable, Hashable {
  case openai, groq, together, mistral, deepseek, openrouter, fireworks, vllm, ollama, azure
  /// Any other OpenAI-compatible server; needs a base URL.
  case custom

  /// The default base URL (ending in `/v1` or the like); nil when the config must give one.
  public var defaultBaseURL: String? {
    switch self {
    case .openai: return "https://api.openai.com/v1"
    case .groq: return "https://api.groq.com/openai/v1"
    case .together: return "https://api.together.xyz/v1"
    case .mistral: return "https://api.mistral.ai/v1"
    case .deepseek: return "https://api.deepseek.com/v1"
    case .openrouter: return "https://openrouter.ai/api/v1"
    case .fireworks: return "https://api.fireworks.ai/inference/v1"
    case .vllm: return "http://127.0.0.1:8000/v1"
    case .ollama: return "http://127.0.0.1:11434/v1"
    case .azure, .custom: return nil
    }
  }

  /// The conventional environment variable of the key; nil for local servers.
  public var keyEnvironmentVariable: String? {
    switch self {
    case .openai: return "OPENAI_API_KEY"
    case .groq: return "GROQ_API_KEY"
    case .together: return "TOGETHER_API_KEY"
    case .mistral: return "MISTRAL_API_KEY"
    case .deepseek: return "DEEPSEEK_API_KEY"
    case .openrouter: return "OPENROUTER_API_KEY"
    case .fireworks: return "FIREWORKS_API_KEY"
    case .azure: return "AZURE_OPENAI_API_KEY"
    case .vllm, .ollama, .custom: return nil
    }
  }

  /// Whether a call without a key is pointless.
  public var requiresKey: Bool { keyEnvironmentVariable != nil }

  /// The catalog vendor whose entries describe this service's models.
  public var catalogVendor: String {
    switch self {
    case .azure: return "openai"
    default: return rawValue
    }
  }

  /// Whether `stream_options.include_usage` is accepted (Mistral rejects unknown fields
  /// and sends usage on its last chunk anyway).
  var supportsStreamOptions: Bool { self != .mistral }

  /// Whether a trailing assistant message is continued (prefill) when marked `prefix: true`.
  var supportsPrefixPrefill: Bool { self == .mistral || self == .deepseek }

  /// The body member for the seed.
  var seedField: String { self == .mistral ? "random_seed" : "seed" }

  /// The default `api-version` query parameter (Azure only).
  public static let defaultAzureAPIVersion = "2024-10-21"
}
