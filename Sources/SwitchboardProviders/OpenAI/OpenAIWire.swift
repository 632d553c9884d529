import SwitchboardCore

/// Decodable shapes of Chat Completions answers (only the members we read).
enum OpenAIWire {
  struct Completion: Decodable {
    var model: String?
    var choices: [Choice]?
    var usage: JSONValue?
    var error: JSONValue?
    var x_groq: XGroq?
  }
  struct XGroq: Decodable { var usage: JSONValue? }
  struct Choice: Decodable {
    var index: Int?
    var message: Message?
    var delta: Message?
    var finish_reason: String?
  }
  struct Message: Decodable {
    var content: String?
    var tool_calls: [ToolCallPart]?
  }
  struct ToolCallPart: Decodable {
    var index: Int?
    var id: String?
    var function: FunctionPart?
  }
  struct FunctionPart: Decodable {
    var name: String?
    var arguments: String?
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
