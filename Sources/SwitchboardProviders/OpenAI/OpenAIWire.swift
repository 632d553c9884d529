import SwitchboardCore

/// Shapes of Chat Completions answers (only the members we read), filled by
/// ``scanCompletion(_:)``; `Decodable` stays as the reference the tests compare with.
enum OpenAIWire {
  struct Completion: Decodable {
    var model: String? = nil
    var choices: [Choice]? = nil
    var usage: JSONValue? = nil
    var error: JSONValue? = nil
    var x_groq: XGroq? = nil
  }
  struct XGroq: Decodable { var usage: JSONValue? = nil }
  struct Choice: Decodable {
    var index: Int? = nil
    var message: Message? = nil
    var delta: Message? = nil
    var finish_reason: String? = nil
  }
  struct Message: Decodable {
    var content: String? = nil
    var tool_calls: [ToolCallPart]? = nil
  }
  struct ToolCallPart: Decodable {
    var index: Int? = nil
    var id: String? = nil
    var function: FunctionPart? = nil
  }
  struct FunctionPart: Decodable {
    var name: String? = nil
    var arguments: String? = nil
  }

  static func finishReason(_ text: String?) -> FinishReason {
    switch text {
    case "stop", "end_turn", "stop_sequence": return .stop
    case "length", "max_tokens": return .length
    case "tool_calls", "function_call", "tool_use": return .toolCalls
    case "content_filter": return .contentFilter
    default: return .unknown
    }
  }

  static func int(_ v: JSONValue?) -> Int {
    switch v {
    case .int(let i)?: return Int(clamping: i)
    case .double(let d)?: return d.isFinite ? Int(d) : 0
    default: return 0
    }
  }

  static func usage(_ u: JSONValue) -> Usage {
    let prompt = int(u["prompt_tokens"])
    var cached = int(u["prompt_tokens_details"]?["cached_tokens"])
    if cached == 0 { cached = int(u["prompt_cache_hit_tokens"]) }
    return Usage(inputTokens: prompt, outputTokens: int(u["completion_tokens"]), cachedInputTokens: min(cached, prompt))
  }

  /// An error object sent with a 200 (in a body or a stream event).
  static func inStreamFailure(_ e: JSONValue) -> ProviderFailure {
    func text(_ v: JSONValue?) -> String {
      switch v {
      case .string(let s)?: return s
      case .int(let i)?: return String(i)
      default: return ""
      }
    }
    let obj = e.isObject ? e : JSONValue.object(["message": e])
    var status = 500
    if case .int(let code)? = obj["code"], (400...599).contains(code) { status = Int(code) }
    let code = text(obj["code"]), type = text(obj["type"]), message = ErrorBodyParser.sanitize(text(obj["message"]))
    let reason = FailureClassifier.classify(httpStatus: status, errorCode: code, errorType: type, message: message)
    return ProviderFailure(reason, httpStatus: 200, message: "in-stream error: \([type, code, message].filter { !$0.isEmpty }.joined(separator: " "))",
                           afterHeaders: true)
  }
}
