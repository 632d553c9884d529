import Foundation
import SwitchboardCore

/// Turns an OpenAI Chat Completions body into the core's `ChatRequest`, with the
/// same validation rules as the socket path; failures are 400s naming the field.
enum OpenAIRequestConversion {
  /// Decodes `bytes`; a malformed body is a 400 that names where, never echoing content.
  static func decode(_ bytes: Data) throws(OpenAIError) -> ChatCompletionRequestBody {
    do {
      return try JSONDecoder().decode(ChatCompletionRequestBody.self, from: bytes)
    } catch let e as DecodingError {
      throw .invalid(describe(e), param: param(e))
    } catch {
      throw .invalid("the body is not valid JSON")
    }
  }

  private static func path(_ p: [any CodingKey]) -> String {
    var s = ""
    for k in p {
      if let i = k.intValue { s += "[\(i)]" } else { s += s.isEmpty ? k.stringValue : ".\(k.stringValue)" }
    }
    return s
  }

  private static func param(_ e: DecodingError) -> String? {
    switch e {
    case .keyNotFound(let k, let c): let p = path(c.codingPath + [k]); return p.isEmpty ? nil : p
    case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): let p = path(c.codingPath); return p.isEmpty ? nil : p
    @unknown default: return nil
    }
  }

  private static func describe(_ e: DecodingError) -> String {
    switch e {
    case .keyNotFound(let k, let c): return "missing required field '\(path(c.codingPath + [k]))'"
    case .typeMismatch(let t, let c), .valueNotFound(let t, let c):
      let p = path(c.codingPath)
      return p.isEmpty ? "the body must be a JSON object" : "field '\(p)' has the wrong type (expected \(typeName(t)))"
    case .dataCorrupted(let c):
      let p = path(c.codingPath)
      return p.isEmpty ? "the body is not valid JSON" : "field '\(p)' is not valid"
    @unknown default: return "the body is not a valid chat completion request"
    }
  }

  private static func typeName(_ t: Any.Type) -> String {
    switch t {
    case is String.Type: "a string"
    case is Int.Type, is Int64.Type: "an integer"
    case is Double.Type: "a number"
    case is Bool.Type: "true or false"
    default: t is any Collection.Type ? "a list" : "an object"
    }
  }

  /// The `model` field: a route, or `provider/model` when direct targets are
  /// enabled and no route has that name. An unknown name goes to the router as a
  /// route, which refuses it (404) and records the decision like the socket does.
  /// The longest prefix of `s` that fits in `bytes` UTF-8 bytes (whole characters).
  static func prefix(_ s: String, bytes: Int) -> String {
    var out = "", n = 0
    for c in s {
      n += c.utf8.count
      if n > bytes { break }
      out.append(c)
    }
    return out
  }

  static func target(_ model: String, routes: Set<String>, directTargets: Bool) throws(OpenAIError) -> (route: String?, explicit: CandidateRef?) {
    guard !model.isEmpty else { throw .invalid("model must name a route", param: "model") }
    if !routes.contains(model), directTargets, let ref = CandidateRef(parsing: model) { return (nil, ref) }
    return (model, nil)
  }

  /// Converts a decoded body; `route`/`explicit` come from `target`.
  static func chatRequest(_ b: ChatCompletionRequestBody, route: String?, explicit: CandidateRef?) throws(OpenAIError) -> ChatRequest {
    guard !b.messages.isEmpty else { throw .invalid("messages must not be empty", param: "messages") }
    if let n = b.n, n != 1 { throw .invalid("only n = 1 is supported", param: "n") }
    var messages: [ChatMessage] = []
    messages.reserveCapacity(b.messages.count)
    for (i, m) in b.messages.enumerated() {
      let p = "messages[\(i)]"
      let role: ChatRole
      switch m.role {
      case "system", "developer": role = .system
      case "user": role = .user
      case "assistant": role = .assistant
      case "tool": role = .tool
      default: throw .invalid("\(p).role must be system, developer, user, assistant or tool", param: "\(p).role")
      }
      var text = ""
      var parts: [ContentPart] = []
      switch m.content {
      case .text(let s)?: text = s
      case .parts(let ps)?:
        var texts: [String] = []
        for (j, part) in ps.enumerated() {
          let pp = "\(p).content[\(j)]"
          switch part.type {
          case "text":
            guard let t = part.text else { throw .invalid("\(pp).text is required", param: "\(pp).text") }
            texts.append(t); parts.append(.text(t))
          case "image_url":
            guard role == .user else { throw .invalid("\(pp): images are allowed in user messages only", param: pp) }
            guard let img = part.imageURL, !img.url.isEmpty else { throw .invalid("\(pp).image_url.url is required", param: "\(pp).image_url") }
            let lower = img.url.prefix(16).lowercased()
            guard lower.hasPrefix("https://") || lower.hasPrefix("http://") || lower.hasPrefix("data:image/") else {
              throw .invalid("\(pp).image_url.url must be an http(s) URL or a data:image/… URL", param: "\(pp).image_url.url")
            }
            if let d = img.detail, !["auto", "low", "high"].contains(d) {
              throw .invalid("\(pp).image_url.detail must be auto, low or high", param: "\(pp).image_url.detail")
            }
            parts.append(.image(ImageReference(url: img.url, detail: img.detail)))
          default:
            throw .invalid("\(pp).type '\(part.type.prefix(32))' is not supported (text, image_url)", param: "\(pp).type")
          }
        }
        text = texts.joined(separator: "\n")
        if !parts.contains(where: { if case .image = $0 { true } else { false } }) { parts = [] }
      case nil:
        guard role == .assistant, m.toolCalls?.isEmpty == false else {
          throw .invalid("\(p).content is required", param: "\(p).content")
        }
      }
      if role == .tool && (m.toolCallID ?? "").isEmpty {
        throw .invalid("\(p): a tool message needs tool_call_id", param: "\(p).tool_call_id")
      }
      let calls = (m.toolCalls ?? []).map { ToolCall(id: $0.id, name: $0.function.name, argumentsJSON: $0.function.arguments) }
      if !calls.isEmpty && role != .assistant { throw .invalid("\(p): only assistant messages carry tool_calls", param: "\(p).tool_calls") }
      messages.append(ChatMessage(role: role, content: text, parts: parts, toolCalls: calls,
                                  toolCallID: m.toolCallID, name: m.name))
    }
    var tools: [ToolSpec] = []
    for (i, t) in (b.tools ?? []).enumerated() {
      guard t.type == "function" else { throw .invalid("tools[\(i)].type must be function", param: "tools[\(i)].type") }
      guard !t.function.name.isEmpty else { throw .invalid("tools[\(i)].function.name must not be empty", param: "tools[\(i)].function.name") }
      var schema = "{\"type\":\"object\"}"
      if let params = t.function.parameters {
        guard params.isObject else { throw .invalid("tools[\(i)].function.parameters must be a JSON object", param: "tools[\(i)].function.parameters") }
        schema = params.text
      }
      tools.append(ToolSpec(name: t.function.name, description: t.function.description ?? "", parametersJSONSchema: schema))
    }
    var toolChoice: String?
    switch b.toolChoice {
    case .mode(let m)?:
      guard ["none", "auto", "required"].contains(m) else { throw .invalid("tool_choice must be none, auto, required or a function", param: "tool_choice") }
      toolChoice = m
    case .function(let name)?:
      guard tools.contains(where: { $0.name == name }) else { throw .invalid("tool_choice names a function that is not in tools", param: "tool_choice") }
      toolChoice = name
    case nil: break
    }
    if toolChoice != nil && tools.isEmpty && toolChoice != "none" {
      throw .invalid("tool_choice needs tools", param: "tool_choice")
    }
    var format = ResponseFormat.text
    if let rf = b.responseFormat {
      switch rf.type {
      case "text": format = .text
      case "json_object": format = .jsonObject
      case "json_schema":
        guard let js = rf.jsonSchema, let schema = js.schema, schema.isObject else {
          throw .invalid("response_format.json_schema.schema must be a JSON object", param: "response_format.json_schema")
        }
        format = .jsonSchema(name: (js.name?.isEmpty == false ? js.name! : "response"), schema: schema.text, strict: js.strict ?? false)
      default: throw .invalid("response_format.type must be text, json_object or json_schema", param: "response_format.type")
      }
    }
    if b.maxTokens != nil && b.maxCompletionTokens != nil && b.maxTokens != b.maxCompletionTokens {
      throw .invalid("max_tokens and max_completion_tokens disagree; send one", param: "max_completion_tokens")
    }
    let maxTokens = b.maxCompletionTokens ?? b.maxTokens
    if let v = maxTokens, v <= 0 { throw .invalid("max_tokens must be positive", param: b.maxCompletionTokens != nil ? "max_completion_tokens" : "max_tokens") }
    if let v = b.temperature, !(0...2).contains(v) { throw .invalid("temperature must be between 0 and 2", param: "temperature") }
    if let v = b.topP, !(v > 0 && v <= 1) { throw .invalid("top_p must be in (0, 1]", param: "top_p") }
    let stop = b.stop?.values ?? []
    if stop.count > 4 { throw .invalid("at most 4 stop sequences", param: "stop") }
    // `metadata` pairs become the decision's tags (bounded by RequestTags: the router
    // refuses more than 16, or an over-long key or value, with a 400 naming the limit).
    var tags = b.metadata ?? [:]
    if let u = b.user, !u.isEmpty, tags["user"] == nil { tags["user"] = Self.prefix(u, bytes: RequestTags.maxValueBytes) }
    var request = ChatRequest(
      route: route, explicitTarget: explicit, messages: messages, tools: tools, toolChoice: toolChoice,
      responseFormat: format, maxTokens: maxTokens, temperature: b.temperature, topP: b.topP, stop: stop,
      seed: b.seed, stream: b.stream ?? false, tags: tags)
    // An OpenAI client cannot discard a partial answer: no restart, ever.
    request.streamRestartAllowed = false
    return request
  }
}
