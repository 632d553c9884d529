import NIOCore
import NIOHTTP1
import SwitchboardCore

/// The OpenAI Chat Completions wire format, used by OpenAI and the compatible
/// services of `OpenAIPreset` (Azure with its deployment URL and `api-key` header).
public struct OpenAIDialect: ProviderDialect {
  /// The service.
  public let preset: OpenAIPreset
  /// The base URL without a trailing slash (for Azure, the resource endpoint).
  public let baseURL: String
  /// Extra headers sent with every request (e.g. OpenRouter's `HTTP-Referer`).
  public let extraHeaders: [(String, String)]
  /// Azure's `api-version`.
  public let apiVersion: String
  public let requiresKey: Bool
  public let conventionalKeyEnvironmentVariable: String?
  public var kind: String { "openai" }

  /// Creates the dialect; `baseURL` nil takes the preset's default (required for Azure and custom).
  public init(preset: OpenAIPreset, baseURL: String? = nil, extraHeaders: [(String, String)] = [],
              apiVersion: String? = nil, requiresKey: Bool? = nil, keyEnvironmentVariable: String? = nil) throws {
    guard let base = baseURL ?? preset.defaultBaseURL, !base.isEmpty else {
      throw ProviderConfigurationError(.missingBaseURL, "preset '\(preset.rawValue)' needs a base_url")
    }
    guard base.hasPrefix("http://") || base.hasPrefix("https://") else {
      throw ProviderConfigurationError(.invalidBaseURL, "base_url '\(base)' must start with http:// or https://")
    }
    self.preset = preset
    self.baseURL = base.hasSuffix("/") ? String(base.dropLast()) : base
    self.extraHeaders = extraHeaders
    self.apiVersion = apiVersion ?? OpenAIPreset.defaultAzureAPIVersion
    self.requiresKey = requiresKey ?? preset.requiresKey
    self.conventionalKeyEnvironmentVariable = keyEnvironmentVariable ?? preset.keyEnvironmentVariable
  }

  /// Whether `model` is a reasoning model by name (o1, o3, o4, gpt-5 families),
  /// also behind a vendor prefix (`openai/o3`).
  public static func isReasoningModelName(_ model: String) -> Bool {
    let base = model.split(separator: "/").last.map { $0.lowercased() } ?? model.lowercased()
    if base.hasPrefix("gpt-5") { return !base.hasPrefix("gpt-5-chat") }
    return ["o1", "o3", "o4"].contains { base == $0 || base.hasPrefix($0 + "-") }
  }

  public func translateOptions(_ request: ChatRequest, model: String, info: ModelInfo?) -> TranslatedOptions {
    var t = TranslatedOptions()
    let reasoning = (info?.reasoning ?? false) || Self.isReasoningModelName(model)
    if let maxTokens = request.maxTokens {
      if reasoning {
        t.fields["max_completion_tokens"] = .int(Int64(maxTokens))
        t.warnings.append("max_tokens_renamed:max_completion_tokens")
      } else {
        t.fields["max_tokens"] = .int(Int64(maxTokens))
      }
    }
    if let temperature = request.temperature {
      if reasoning { t.warnings.append("temperature_dropped:reasoning_model") } else { t.fields["temperature"] = .double(temperature) }
    }
    if let topP = request.topP {
      if reasoning { t.warnings.append("top_p_dropped:reasoning_model") } else { t.fields["top_p"] = .double(topP) }
    }
    if !request.stop.isEmpty { t.fields["stop"] = .array(request.stop.map { .string($0) }) }
    if let seed = request.seed {
      t.fields[preset.seedField] = .int(seed)
      if preset.seedField != "seed" { t.warnings.append("seed_renamed:\(preset.seedField)") }
    }
    return t
  }

  public func prepareRequest(_ call: ProviderCall, options: TranslatedOptions, stream: Bool) throws -> PreparedRequest {
    let request = call.request
    var body: [String: JSONValue] = options.fields
    body["model"] = .string(call.model)
    var messages = try request.messages.map(Self.encode)
    if let prefill = call.prefill, !prefill.isEmpty {
      var m: [String: JSONValue] = ["role": "assistant", "content": .string(prefill)]
      if preset.supportsPrefixPrefill { m["prefix"] = true }
      messages.append(.object(m))
    }
    body["messages"] = .array(messages)
    if !request.tools.isEmpty {
      body["tools"] = .array(try request.tools.map { tool in
        var fn: [String: JSONValue] = ["name": .string(tool.name), "parameters": try Self.schema(tool)]
        if !tool.description.isEmpty { fn["description"] = .string(tool.description) }
        return .object(["type": "function", "function": .object(fn)])
      })
      if let choice = request.toolChoice {
        switch choice {
        case "auto", "none", "required": body["tool_choice"] = .string(choice)
        default: body["tool_choice"] = ["type": "function", "function": ["name": .string(choice)]]
        }
      }
    }
    switch request.responseFormat {
    case .text: break
    case .jsonObject: body["response_format"] = ["type": "json_object"]
    case .jsonSchema(let name, let schema, let strict):
      guard let parsed = try? JSONValue(parsing: schema), parsed.isObject else {
        throw ProviderFailure(.invalidRequest, message: "response_format schema '\(name)' is not a JSON object")
      }
      body["response_format"] = ["type": "json_schema",
                                 "json_schema": ["name": .string(name), "schema": parsed, "strict": .bool(strict)]]
    }
    if stream {
      body["stream"] = true
      if preset.supportsStreamOptions { body["stream_options"] = ["include_usage": true] }
    }

    var headers = HTTPHeaders()
    headers.add(name: "content-type", value: "application/json")
    headers.add(name: "accept", value: stream ? "text/event-stream" : "application/json")
    headers.add(name: "user-agent", value: "switchboard")
    let url: String
    if preset == .azure {
      let deployment = call.model.addingPercentEncodingForPath()
      url = "\(baseURL)/openai/deployments/\(deployment)/chat/completions?api-version=\(apiVersion)"
      if let key = call.apiKey, !key.isEmpty { headers.add(name: "api-key", value: key.reveal()) }
    } else {
      url = "\(baseURL)/chat/completions"
      if let key = call.apiKey, !key.isEmpty { headers.add(name: "authorization", value: "Bearer \(key.reveal())") }
    }
    if !call.requestID.isEmpty { headers.add(name: "x-client-request-id", value: call.requestID) }
    for (name, value) in extraHeaders { headers.replaceOrAdd(name: name, value: value) }
    var buffer = ByteBuffer()
    JSONValue.object(body).write(into: &buffer)
    return PreparedRequest(url: url, headers: headers, body: buffer)
  }

  static func schema(_ tool: ToolSpec) throws -> JSONValue {
    guard let parsed = try? JSONValue(parsing: tool.parametersJSONSchema), parsed.isObject else {
      throw ProviderFailure(.invalidRequest, message: "the parameters schema of tool '\(tool.name)' is not a JSON object")
    }
    return parsed
  }

  static func encode(_ message: ChatMessage) throws -> JSONValue {
    var m: [String: JSONValue] = ["role": .string(message.role.rawValue)]
    switch message.role {
    case .assistant where !message.toolCalls.isEmpty:
      m["content"] = message.content.isEmpty ? .null : .string(message.content)
      m["tool_calls"] = .array(message.toolCalls.map { tc in
        ["id": .string(tc.id), "type": "function",
         "function": ["name": .string(tc.name), "arguments": .string(tc.argumentsJSON)]]
      })
    case .tool:
      m["content"] = .string(message.content)
      m["tool_call_id"] = .string(message.toolCallID ?? "")
    default:
      m["content"] = message.parts.isEmpty ? .string(message.content) : .array(message.parts.map(encode))
    }
    if let name = message.name, message.role != .tool { m["name"] = .string(name) }
    return .object(m)
  }

  /// A content part as an OpenAI `text` or `image_url` part.
  static func encode(_ part: ContentPart) -> JSONValue {
    switch part {
    case .text(let t): return ["type": "text", "text": .string(t)]
    case .image(let img):
      var u: [String: JSONValue] = ["url": .string(img.url)]
      if let d = img.detail { u["detail"] = .string(d) }
      return ["type": "image_url", "image_url": .object(u)]
    }
  }

  public func decodeResponse(_ body: ByteBuffer, model: String) throws -> ProviderResponse {
    let completion: OpenAIWire.Completion
    do {
      completion = try OpenAIWire.scanCompletion(body)
    } catch {
      throw ProviderFailure(.invalidResponse, httpStatus: 200, message: "undecodable chat completion body",
                            afterHeaders: true)
    }
    if let e = completion.error { throw OpenAIWire.inStreamFailure(e) }
    guard let choice = completion.choices?.first else {
      throw ProviderFailure(.invalidResponse, httpStatus: 200, message: "chat completion without choices",
                            afterHeaders: true)
    }
    let message = choice.message
    let toolCalls = (message?.tool_calls ?? []).enumerated().map { i, tc in
      ToolCall(id: tc.id ?? "call_\(i)", name: tc.function?.name ?? "", argumentsJSON: tc.function?.arguments ?? "{}")
    }
    return ProviderResponse(content: message?.content ?? "", toolCalls: toolCalls,
                            finishReason: OpenAIWire.finishReason(choice.finish_reason),
                            usage: completion.usage.map(extractUsage) ?? .zero,
                            model: completion.model ?? model)
  }

  public func makeStreamDecoder(model: String) -> OpenAIStreamDecoder {
    OpenAIStreamDecoder(model: model)
  }

  /// OpenAI `prompt_tokens` already include cached ones (`prompt_tokens_details.cached_tokens`);
  /// DeepSeek reports `prompt_cache_hit_tokens`.
  public func extractUsage(_ usage: JSONValue) -> Usage { OpenAIWire.usage(usage) }
}

extension String {
  /// Percent-encodes everything but unreserved characters (for a path segment).
  func addingPercentEncodingForPath() -> String {
    var out = ""
    for byte in utf8 {
      switch byte {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
        UInt8(ascii: "~"):
        out.unicodeScalars.append(Unicode.Scalar(byte))
      default:
        out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
      }
    }
    return out
  }

  fileprivate func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
