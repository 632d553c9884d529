/// The fake provider's deterministic answer to one request: "fake answer from MODEL"
/// in four pieces, or a tool call when the request offers tools and the last
/// message is the user's; usage from the request size.
struct FakeAnswer {
  let format: FakeProvider.WireFormat
  let model: String
  let request: FakeJSON
  let configuration: FakeProvider.Configuration
  let promptTokens: Int
  var pieces: [String]
  let tool: String?
  /// A 200 whose generation the provider's safety system stopped
  /// (`finish_reason: content_filter`, `stop_reason: refusal`).
  var filtered = false
  private var openAIStop: String { filtered ? "content_filter" : "stop" }
  private var anthropicStop: String { filtered ? "refusal" : "end_turn" }

  init(format: FakeProvider.WireFormat, model: String, request: FakeJSON, bodyBytes: Int,
       configuration: FakeProvider.Configuration) {
    self.format = format; self.model = model; self.request = request; self.configuration = configuration
    promptTokens = configuration.reportedInputTokens ?? max(1, bodyBytes / 4)
    pieces = ["fake", " answer", " from", " \(model)"]
    let messages = request["messages"]?.array ?? []
    let last = messages.last
    let lastIsUserText = last?["role"]?.string == "user" && last?["content"]?.string != nil
    var tool: String?
    if lastIsUserText, let tools = request["tools"]?.array, !tools.isEmpty {
      let choice = request["tool_choice"]
      if let named = choice?["function"]?["name"]?.string ?? choice?["name"]?.string {
        tool = named
      } else if choice?.string != "none", choice?["type"]?.string != "none" {
        tool = tools[0]["function"]?["name"]?.string ?? tools[0]["name"]?.string
      }
    }
    self.tool = tool
  }

  var endsWithAssistant: Bool { request["messages"]?.array?.last?["role"]?.string == "assistant" }
  var text: String { pieces.joined() }
  var completionTokens: Int { configuration.reportedOutputTokens ?? (tool == nil ? pieces.count : 9) }
  static let argumentPieces = ["{\"query\":", " \"fake\"}"]

  private func obj(_ pairs: (String, FakeJSON)...) -> FakeJSON {
    .object(Dictionary(pairs, uniquingKeysWith: { _, b in b }))
  }
  private func n(_ i: Int) -> FakeJSON { .number(Double(i)) }

  var openAIUsage: FakeJSON {
    let cached = configuration.cachedInputTokens
    return obj(("prompt_tokens", n(promptTokens + cached)), ("completion_tokens", n(completionTokens)),
               ("total_tokens", n(promptTokens + cached + completionTokens)),
               ("prompt_tokens_details", obj(("cached_tokens", n(cached)))))
  }

  // MARK: Unary

  func unaryBody() -> String {
    switch format {
    case .anthropic:
      var content: [FakeJSON] = []
      if let tool {
        content.append(obj(("type", "tool_use"), ("id", "toolu_fake_1"), ("name", .string(tool)),
                           ("input", obj(("query", "fake")))))
      } else {
        content.append(obj(("type", "text"), ("text", .string(text))))
      }
      return obj(("id", "msg_fake"), ("type", "message"), ("role", "assistant"), ("model", .string(model)),
                 ("content", .array(content)), ("stop_reason", .string(tool == nil ? anthropicStop : "tool_use")),
                 ("usage", obj(("input_tokens", n(promptTokens)), ("output_tokens", n(completionTokens)),
                               ("cache_read_input_tokens", n(configuration.cachedInputTokens)),
                               ("cache_creation_input_tokens", n(configuration.cacheWriteTokens))))).description
    default:
      var message = obj(("role", "assistant"), ("content", tool == nil ? .string(text) : .null))
      if let tool, case .object(var m) = message {
        m["tool_calls"] = .array([obj(("id", "call_fake_1"), ("type", "function"),
                                      ("function", obj(("name", .string(tool)), ("arguments", .string(Self.argumentPieces.joined())))))])
        message = .object(m)
      }
      return obj(("id", "chatcmpl-fake"), ("object", "chat.completion"), ("created", n(1_767_225_600)),
                 ("model", .string(model)),
                 ("choices", .array([obj(("index", n(0)), ("message", message),
                                         ("finish_reason", .string(tool == nil ? openAIStop : "tool_calls")))])),
                 ("usage", openAIUsage)).description
    }
  }

  // MARK: Streamed

  /// Every SSE event text in order; the last one is the terminator.
  func streamEvents() -> [String] {
    format == .anthropic ? anthropicEvents() : openAIEvents()
  }

  private func chunk(_ delta: FakeJSON, finish: String? = nil) -> String {
    let c = obj(("id", "chatcmpl-fake"), ("object", "chat.completion.chunk"), ("created", n(1_767_225_600)),
                ("model", .string(model)),
                ("choices", .array([obj(("index", n(0)), ("delta", delta), ("finish_reason", finish.map { .string($0) } ?? .null))])))
    return "data: \(c.description)\n\n"
  }

  private func openAIEvents() -> [String] {
    var events = [chunk(obj(("role", "assistant"), ("content", "")))]
    if let tool {
      events.append(chunk(obj(("tool_calls", .array([obj(("index", n(0)), ("id", "call_fake_1"), ("type", "function"),
                                                          ("function", obj(("name", .string(tool)), ("arguments", ""))))])))))
      for piece in Self.argumentPieces {
        let fn = obj(("arguments", .string(piece)))
        let call = obj(("index", n(0)), ("function", fn))
        events.append(chunk(obj(("tool_calls", .array([call])))))
      }
      events.append(chunk(obj(), finish: "tool_calls"))
    } else {
      for piece in pieces { events.append(chunk(obj(("content", .string(piece))))) }
      events.append(chunk(obj(), finish: openAIStop))
    }
    if request["stream_options"]?["include_usage"]?.bool == true {
      let u = obj(("id", "chatcmpl-fake"), ("object", "chat.completion.chunk"), ("created", n(1_767_225_600)),
                  ("model", .string(model)), ("choices", .array([])), ("usage", openAIUsage))
      events.append("data: \(u.description)\n\n")
    }
    events.append("data: [DONE]\n\n")
    return events
  }

  private func event(_ name: String, _ data: FakeJSON) -> String { "event: \(name)\ndata: \(data.description)\n\n" }

  private func anthropicEvents() -> [String] {
    let start = obj(("type", "message_start"),
                    ("message", obj(("id", "msg_fake"), ("type", "message"), ("role", "assistant"), ("model", .string(model)),
                                    ("content", .array([])), ("stop_reason", .null),
                                    ("usage", obj(("input_tokens", n(promptTokens)), ("output_tokens", n(1)),
                                                  ("cache_read_input_tokens", n(configuration.cachedInputTokens)),
                                                  ("cache_creation_input_tokens", n(configuration.cacheWriteTokens)))))))
    var events = [event("message_start", start)]
    if let tool {
      let block = obj(("type", "tool_use"), ("id", "toolu_fake_1"), ("name", .string(tool)), ("input", obj()))
      events.append(event("content_block_start", obj(("type", "content_block_start"), ("index", n(0)), ("content_block", block))))
      events.append(event("ping", obj(("type", "ping"))))
      for piece in Self.argumentPieces {
        let delta = obj(("type", "input_json_delta"), ("partial_json", .string(piece)))
        events.append(event("content_block_delta", obj(("type", "content_block_delta"), ("index", n(0)), ("delta", delta))))
      }
    } else {
      let block = obj(("type", "text"), ("text", ""))
      events.append(event("content_block_start", obj(("type", "content_block_start"), ("index", n(0)), ("content_block", block))))
      events.append(event("ping", obj(("type", "ping"))))
      for piece in pieces {
        let delta = obj(("type", "text_delta"), ("text", .string(piece)))
        events.append(event("content_block_delta", obj(("type", "content_block_delta"), ("index", n(0)), ("delta", delta))))
      }
    }
    events.append(event("content_block_stop", obj(("type", "content_block_stop"), ("index", n(0)))))
    events.append(event("message_delta", obj(("type", "message_delta"),
      ("delta", obj(("stop_reason", .string(tool == nil ? anthropicStop : "tool_use")), ("stop_sequence", .null))),
      ("usage", obj(("output_tokens", n(completionTokens)))))))
    events.append(event("message_stop", obj(("type", "message_stop"))))
    return events
  }

  static func streamErrorEvent(context format: FakeProvider.WireFormat) -> String {
    if format == .anthropic {
      return "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"
    }
    return "data: {\"error\":{\"message\":\"The server had an error while processing your request.\",\"type\":\"server_error\",\"code\":502}}\n\n"
  }

  /// An error body in the request's wire format.
  static func errorBody(_ format: FakeProvider.WireFormat, type: String, code: String, message: String) -> String {
    let m = FakeJSON.string(message).description
    if format == .anthropic {
      return "{\"type\":\"error\",\"error\":{\"type\":\"\(type)\",\"message\":\(m)}}"
    }
    let c = code.isEmpty ? "null" : "\"\(code)\""
    return "{\"error\":{\"message\":\(m),\"type\":\"\(type)\",\"param\":null,\"code\":\(c)}}"
  }
}
