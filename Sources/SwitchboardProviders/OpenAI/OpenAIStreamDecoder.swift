import SwitchboardCore

/// Decodes a Chat Completions SSE stream: text and tool-call deltas, the finish
/// reason, and the usage chunk (`stream_options.include_usage`), up to `[DONE]`.
public struct OpenAIStreamDecoder: ProviderStreamDecoder {
  private var model: String
  private var content = ""
  private var toolCalls: [Int: (id: String, name: String, arguments: String)] = [:]
  private var finish: FinishReason?
  private var usage: Usage?

  /// Creates a decoder for an answer of `model`.
  public init(model: String) { self.model = model }

  public var isComplete: Bool { finish != nil }
  public var hasContent: Bool { !content.isEmpty || !toolCalls.isEmpty }

  public mutating func decode(_ event: ServerSentEvent) throws -> StreamStep {
    let data = event.data.trimmingCharacters(in: .whitespaces)
    if data == "[DONE]" { return StreamStep(terminated: true) }
    if data.isEmpty { return StreamStep() }
    let chunk: OpenAIWire.Completion
    do {
      chunk = try OpenAIWire.scanCompletion(data)
    } catch {
      throw ProviderFailure(.invalidResponse, httpStatus: 200, message: "malformed stream chunk (not JSON)",
                            afterHeaders: true)
    }
    if let e = chunk.error { throw OpenAIWire.inStreamFailure(e) }
    if let m = chunk.model, !m.isEmpty { model = m }
    if let u = chunk.usage, u.isObject { usage = OpenAIWire.usage(u) }
    if let u = chunk.x_groq?.usage, u.isObject { usage = OpenAIWire.usage(u) }
    var step = StreamStep()
    for choice in chunk.choices ?? [] where (choice.index ?? 0) == 0 {
      if let text = choice.delta?.content, !text.isEmpty {
        content += text
        step.deltas.append(.text(text))
      }
      for part in choice.delta?.tool_calls ?? [] {
        let index = part.index ?? toolCalls.count
        var call = toolCalls[index] ?? (id: "", name: "", arguments: "")
        if let id = part.id, !id.isEmpty { call.id = id }
        if let name = part.function?.name, !name.isEmpty { call.name += name }
        let args = part.function?.arguments ?? ""
        call.arguments += args
        toolCalls[index] = call
        step.deltas.append(.toolCall(index: index, id: part.id, name: part.function?.name, argumentsDelta: args))
      }
      if let reason = choice.finish_reason { finish = OpenAIWire.finishReason(reason) }
    }
    return step
  }

  public func response() -> ProviderResponse {
    let calls = toolCalls.keys.sorted().map { i -> ToolCall in
      let c = toolCalls[i]!
      return ToolCall(id: c.id.isEmpty ? "call_\(i)" : c.id, name: c.name, argumentsJSON: c.arguments.isEmpty ? "{}" : c.arguments)
    }
    return ProviderResponse(content: content, toolCalls: calls,
                            finishReason: finish ?? (calls.isEmpty ? .stop : .toolCalls),
                            usage: usage ?? .zero, model: model)
  }
}
