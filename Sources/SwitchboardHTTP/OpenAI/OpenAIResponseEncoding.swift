import SwitchboardCore

/// Writes the OpenAI response shapes: `chat.completion`, `chat.completion.chunk`,
/// the model list. Hand-written JSON (fields in OpenAI's order); extra
/// `switchboard` objects carry the decision and are ignored by the SDKs.
enum OpenAIResponseEncoding {
  static func completionID(_ requestID: String) -> String { "chatcmpl-" + requestID }

  static func finishReason(_ f: FinishReason) -> String {
    switch f {
    case .stop, .unknown: "stop"
    case .length: "length"
    case .toolCalls: "tool_calls"
    case .contentFilter: "content_filter"
    }
  }

  static func appendUsage(_ u: Usage, to out: inout String) {
    out += "{\"prompt_tokens\":\(u.inputTokens),\"completion_tokens\":\(u.outputTokens),\"total_tokens\":\(u.inputTokens + u.outputTokens)"
    out += ",\"prompt_tokens_details\":{\"cached_tokens\":\(u.cachedInputTokens)}}"
  }

  /// The decision extras: request id, route, served by, attempts, cost, summary.
  static func appendExtras(_ e: DecisionEvent, to out: inout String) {
    out += "{\"request_id\":"; JSONText.appendQuoted(e.requestID, to: &out)
    out += ",\"route\":"; JSONText.appendQuoted(e.route, to: &out)
    if let p = e.chosenProvider { out += ",\"provider\":"; JSONText.appendQuoted(p, to: &out) }
    if let m = e.chosenModel { out += ",\"model\":"; JSONText.appendQuoted(m, to: &out) }
    out += ",\"attempts\":\(attemptCount(e))"
    if let c = e.costUSD { out += ",\"cost_usd\":" + formatUSD(c) }
    out += ",\"summary\":"; JSONText.appendQuoted(e.summary, to: &out)
    out += "}"
  }

  static func attemptCount(_ e: DecisionEvent) -> Int { e.attempts.filter { $0.outcome != .skipped }.count }

  static func appendToolCall(_ t: ToolCall, to out: inout String) {
    out += "{\"id\":"; JSONText.appendQuoted(t.id, to: &out)
    out += ",\"type\":\"function\",\"function\":{\"name\":"; JSONText.appendQuoted(t.name, to: &out)
    out += ",\"arguments\":"; JSONText.appendQuoted(t.argumentsJSON, to: &out)
    out += "}}"
  }

  /// A unary `chat.completion`.
  static func completion(_ r: CompletionResult, event: DecisionEvent, created: Int64) -> String {
    var out = "{\"id\":"
    JSONText.appendQuoted(completionID(r.requestID), to: &out)
    out += ",\"object\":\"chat.completion\",\"created\":\(created),\"model\":"
    JSONText.appendQuoted(r.served.description, to: &out)
    out += ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
    if r.response.content.isEmpty && !r.response.toolCalls.isEmpty { out += "null" } else { JSONText.appendQuoted(r.response.content, to: &out) }
    out += ",\"refusal\":null"
    if !r.response.toolCalls.isEmpty {
      out += ",\"tool_calls\":["
      for (i, t) in r.response.toolCalls.enumerated() { if i > 0 { out += "," }; appendToolCall(t, to: &out) }
      out += "]"
    }
    out += "},\"logprobs\":null,\"finish_reason\":\"\(finishReason(r.response.finishReason))\"}],\"usage\":"
    appendUsage(r.response.usage, to: &out)
    out += ",\"system_fingerprint\":null,\"switchboard\":"
    appendExtras(event, to: &out)
    out += "}"
    return out
  }

  /// The common head of a chunk.
  static func chunkHead(id: String, created: Int64, model: String, into out: inout String) {
    out += "{\"id\":"; JSONText.appendQuoted(id, to: &out)
    out += ",\"object\":\"chat.completion.chunk\",\"created\":\(created),\"model\":"; JSONText.appendQuoted(model, to: &out)
    out += ",\"system_fingerprint\":null"
  }

  /// A chunk with one choice's delta (`delta` is the JSON of the delta object).
  static func deltaChunk(id: String, created: Int64, model: String, delta: String, finish: String?, usageNull: Bool) -> String {
    var out = ""
    chunkHead(id: id, created: created, model: model, into: &out)
    out += ",\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"logprobs\":null,\"finish_reason\":"
    if let finish { out += "\"\(finish)\"" } else { out += "null" }
    out += "}]"
    if usageNull { out += ",\"usage\":null" }
    out += "}"
    return out
  }

  /// The delta object of a streamed piece.
  static func delta(_ d: StreamDelta, first: Bool) -> String {
    var out = "{"
    if first { out += "\"role\":\"assistant\"," }
    switch d {
    case .text(let t):
      out += "\"content\":"; JSONText.appendQuoted(t, to: &out)
    case .toolCall(let index, let id, let name, let args):
      if first { out += "\"content\":null," }
      out += "\"tool_calls\":[{\"index\":\(index)"
      if let id { out += ",\"id\":"; JSONText.appendQuoted(id, to: &out); out += ",\"type\":\"function\"" }
      out += ",\"function\":{"
      var sep = ""
      if let name { out += "\"name\":"; JSONText.appendQuoted(name, to: &out); sep = "," }
      out += sep + "\"arguments\":"; JSONText.appendQuoted(args, to: &out)
      out += "}}]"
    }
    out += "}"
    return out
  }

  /// The last chunk: the finish reason, and the decision extras.
  static func finishChunk(id: String, created: Int64, model: String, finish: String, event: DecisionEvent, usageNull: Bool) -> String {
    var out = ""
    chunkHead(id: id, created: created, model: model, into: &out)
    out += ",\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"\(finish)\"}]"
    if usageNull { out += ",\"usage\":null" }
    out += ",\"switchboard\":"
    appendExtras(event, to: &out)
    out += "}"
    return out
  }

  /// The usage chunk of `stream_options.include_usage`: no choices.
  static func usageChunk(id: String, created: Int64, model: String, usage: Usage) -> String {
    var out = ""
    chunkHead(id: id, created: created, model: model, into: &out)
    out += ",\"choices\":[],\"usage\":"
    appendUsage(usage, to: &out)
    out += "}"
    return out
  }

  /// One SSE event.
  static func sse(_ json: String) -> String { "data: " + json + "\n\n" }
}
