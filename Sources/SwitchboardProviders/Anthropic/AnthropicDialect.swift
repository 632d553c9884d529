import NIOCore
import NIOHTTP1
import SwitchboardCore

/// The Anthropic Messages wire format.
public struct AnthropicDialect: ProviderDialect {
  /// The default base URL.
  public static let defaultBaseURL = "https://api.anthropic.com/v1"
  /// The default `anthropic-version` header.
  public static let defaultAPIVersion = "2023-06-01"
  /// `max_tokens` sent when the request has none (the API requires one).
  public static let defaultMaxTokens = 4096

  /// The base URL without a trailing slash.
  public let baseURL: String
  /// The `anthropic-version` header.
  public let apiVersion: String
  /// Extra headers sent with every request (e.g. `anthropic-beta`).
  public let extraHeaders: [(String, String)]
  public let requiresKey: Bool
  public let conventionalKeyEnvironmentVariable: String?
  public var kind: String { "anthropic" }

  /// Creates the dialect.
  public init(baseURL: String? = nil, apiVersion: String? = nil, extraHeaders: [(String, String)] = [],
              requiresKey: Bool? = nil, keyEnvironmentVariable: String? = nil) throws {
    let base = baseURL ?? Self.defaultBaseURL
    guard base.hasPrefix("http://") || base.hasPrefix("https://") else {
      throw ProviderConfigurationError(.invalidBaseURL, "base_url '\(base)' must start with http:// or https://")
    }
    self.baseURL = base.hasSuffix("/") ? String(base.dropLast()) : base
    self.apiVersion = apiVersion ?? Self.defaultAPIVersion
    self.extraHeaders = extraHeaders
    self.requiresKey = requiresKey ?? true
    self.conventionalKeyEnvironmentVariable = keyEnvironmentVariable ?? "ANTHROPIC_API_KEY"
  }

  public func translateOptions(_ request: ChatRequest, model: String, info: ModelInfo?) -> TranslatedOptions {
    var t = TranslatedOptions()
    t.fields["max_tokens"] = .int(Int64(request.maxTokens ?? Self.defaultMaxTokens))
    if let temperature = request.temperature { t.fields["temperature"] = .double(min(1, max(0, temperature))) }
    if let temperature = request.temperature, temperature > 1 { t.warnings.append("temperature_clamped:1") }
    if let topP = request.topP {
      // Current Claude models reject temperature and top_p together.
      if request.temperature != nil { t.warnings.append("top_p_dropped:temperature_set") } else { t.fields["top_p"] = .double(topP) }
    }
    if !request.stop.isEmpty { t.fields["stop_sequences"] = .array(request.stop.map { .string($0) }) }
    if request.seed != nil { t.warnings.append("seed_dropped:unsupported") }
    switch request.responseFormat {
    case .text: break
    case .jsonObject: t.warnings.append("response_format_dropped:json_object")
    case .jsonSchema: t.warnings.append("response_format_dropped:json_schema")
    }
    return t
  }

  public func prepareRequest(_ call: ProviderCall, options: TranslatedOptions, stream: Bool) throws -> PreparedRequest {
    let request = call.request
    var body = options.fields
    body["model"] = .string(call.model)
    let system = request.messages.filter { $0.role == .system }.map(\.content).filter { !$0.isEmpty }
    if !system.isEmpty { body["system"] = .string(system.joined(separator: "\n\n")) }
    var messages: [JSONValue] = []
    var pendingResults: [JSONValue] = []
    func flushResults() {
      if !pendingResults.isEmpty { messages.append(["role": "user", "content": .array(pendingResults)]); pendingResults = [] }
    }
    for message in request.messages {
      switch message.role {
      case .system: continue
      case .tool:
        pendingResults.append(["type": "tool_result", "tool_use_id": .string(message.toolCallID ?? ""),
                               "content": .string(message.content)])
      case .user:
        flushResults()
        messages.append(["role": "user", "content": message.parts.isEmpty ? .string(message.content)
                           : .array(try message.parts.map(Self.encode))])
      case .assistant:
        flushResults()
        if message.toolCalls.isEmpty {
          messages.append(["role": "assistant", "content": .string(message.content)])
        } else {
          var blocks: [JSONValue] = []
          if !message.content.isEmpty { blocks.append(["type": "text", "text": .string(message.content)]) }
          for tc in message.toolCalls {
            let input = (try? JSONValue(parsing: tc.argumentsJSON.isEmpty ? "{}" : tc.argumentsJSON)) ?? .null
            guard input.isObject else {
              throw ProviderFailure(.invalidRequest, message: "arguments of tool call '\(tc.id)' are not a JSON object")
            }
            blocks.append(["type": "tool_use", "id": .string(tc.id), "name": .string(tc.name), "input": input])
          }
          messages.append(["role": "assistant", "content": .array(blocks)])
        }
      }
    }
    flushResults()
    if let prefill = call.prefill {
      // The API rejects a final assistant turn that ends in whitespace.
      var text = prefill
      while let last = text.last, last.isWhitespace { text.removeLast() }
      if !text.isEmpty { messages.append(["role": "assistant", "content": .string(text)]) }
    }
    body["messages"] = .array(messages)
    if !request.tools.isEmpty {
      body["tools"] = .array(try request.tools.map { tool in
        var t: [String: JSONValue] = ["name": .string(tool.name), "input_schema": try OpenAIDialect.schema(tool)]
        if !tool.description.isEmpty { t["description"] = .string(tool.description) }
        return .object(t)
      })
      switch request.toolChoice {
      case nil: break
      case "auto"?: body["tool_choice"] = ["type": "auto"]
      case "required"?: body["tool_choice"] = ["type": "any"]
      case "none"?: body["tool_choice"] = ["type": "none"]
      case let name?: body["tool_choice"] = ["type": "tool", "name": .string(name)]
      }
    }
    if stream { body["stream"] = true }

    var headers = HTTPHeaders()
    headers.add(name: "content-type", value: "application/json")
    headers.add(name: "accept", value: stream ? "text/event-stream" : "application/json")
    headers.add(name: "user-agent", value: "switchboard")
    headers.add(name: "anthropic-version", value: apiVersion)
    if let key = call.apiKey, !key.isEmpty { headers.add(name: "x-api-key", value: key.reveal()) }
    for (name, value) in extraHeaders { headers.replaceOrAdd(name: name, value: value) }
    var buffer = ByteBuffer()
    JSONValue.object(body).write(into: &buffer)
    return PreparedRequest(url: "\(baseURL)/messages", headers: headers, body: buffer)
  }

  /// A content part as an Anthropic `text` or `image` block: a base64 `data:`
  /// URL becomes `source.type=base64`, an http(s) URL `source.type=url`.
  /// (`detail` has no Anthropic equivalent and is dropped.)
  static func encode(_ part: ContentPart) throws -> JSONValue {
    switch part {
    case .text(let t): return ["type": "text", "text": .string(t)]
    case .image(let img):
      if img.url.hasPrefix("data:") {
        guard case let (mediaType, payload)? = img.base64DataURL else {
          throw ProviderFailure(.invalidRequest, message: "an image data URL must be data:<type>;base64,<data>")
        }
        return ["type": "image", "source": ["type": "base64", "media_type": .string(mediaType), "data": .string(String(payload))]]
      }
      return ["type": "image", "source": ["type": "url", "url": .string(img.url)]]
    }
  }

  public func decodeResponse(_ body: ByteBuffer, model: String) throws -> ProviderResponse {
    let message: AnthropicWire.Message
    do {
      message = try AnthropicWire.scanMessage(body)
    } catch {
      throw ProviderFailure(.invalidResponse, httpStatus: 200, message: "undecodable messages body", afterHeaders: true)
    }
    if message.type == "error", let e = message.error { throw AnthropicWire.failure(e) }
    guard let blocks = message.content else {
      throw ProviderFailure(.invalidResponse, httpStatus: 200, message: "message without content", afterHeaders: true)
    }
    var text = ""
    var calls: [ToolCall] = []
    for block in blocks {
      switch block.type {
      case "text": text += block.text ?? ""
      case "tool_use":
        calls.append(ToolCall(id: block.id ?? "toolu_\(calls.count)", name: block.name ?? "",
                              argumentsJSON: block.input?.jsonText ?? "{}"))
      default: continue  // thinking, redacted_thinking, server tools
      }
    }
    return ProviderResponse(content: text, toolCalls: calls, finishReason: AnthropicWire.finishReason(message.stop_reason),
                            usage: message.usage.map(extractUsage) ?? .zero, model: message.model ?? model)
  }

  public func makeStreamDecoder(model: String) -> AnthropicStreamDecoder { AnthropicStreamDecoder(model: model) }

  /// Anthropic's `input_tokens` exclude cache reads and writes; core's `inputTokens` include them.
  public func extractUsage(_ usage: JSONValue) -> Usage {
    let read = OpenAIWire.int(usage["cache_read_input_tokens"])
    let write = OpenAIWire.int(usage["cache_creation_input_tokens"])
    return Usage(inputTokens: OpenAIWire.int(usage["input_tokens"]) + read + write,
                 outputTokens: OpenAIWire.int(usage["output_tokens"]), cachedInputTokens: read, cacheWriteTokens: write)
  }
}

/// Shapes of Messages answers and stream events, filled by ``scanMessage(_:)`` and
/// ``scanEvent(_:)``; `Decodable` stays as the reference the tests compare with.
enum AnthropicWire {
  struct Message: Decodable {
    var type: String? = nil
    var model: String? = nil
    var content: [Block]? = nil
    var stop_reason: String? = nil
    var usage: JSONValue? = nil
    var error: JSONValue? = nil
  }
  struct Block: Decodable {
    var type: String
    var text: String? = nil
    var id: String? = nil
    var name: String? = nil
    var input: JSONValue? = nil
  }
  struct Event: Decodable {
    var type: String
    var index: Int? = nil
    var message: Message? = nil
    var content_block: Block? = nil
    var delta: Delta? = nil
    var usage: JSONValue? = nil
    var error: JSONValue? = nil
  }
  struct Delta: Decodable {
    var type: String? = nil
    var text: String? = nil
    var partial_json: String? = nil
    var stop_reason: String? = nil
  }

  static func finishReason(_ text: String?) -> FinishReason {
    switch text {
    case "end_turn", "stop_sequence": return .stop
    case "max_tokens": return .length
    case "tool_use": return .toolCalls
    case "refusal": return .contentFilter
    default: return .unknown
    }
  }

  /// Error `type`s and the HTTP status Anthropic documents for each.
  static func status(ofType type: String) -> Int {
    switch type {
    case "invalid_request_error": return 400
    case "authentication_error": return 401
    case "billing_error": return 402
    case "permission_error": return 403
    case "not_found_error": return 404
    case "request_too_large": return 413
    case "rate_limit_error": return 429
    case "overloaded_error": return 529
    default: return 500
    }
  }

  /// The failure of an `error` event (or an error body sent with a 200).
  static func failure(_ e: JSONValue) -> ProviderFailure {
    let type = e["type"]?.stringValue ?? ""
    let message = ErrorBodyParser.sanitize(e["message"]?.stringValue ?? "")
    let reason = FailureClassifier.classify(httpStatus: status(ofType: type), errorType: type, message: message)
    return ProviderFailure(reason, httpStatus: 200, message: "in-stream error: \(type) \(message)", afterHeaders: true)
  }
}
