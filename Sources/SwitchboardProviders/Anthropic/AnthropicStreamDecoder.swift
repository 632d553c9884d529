import SwitchboardCore

/// Decodes a Messages SSE stream: `message_start` (input and cache usage),
/// content blocks (text and tool_use with `input_json_delta`), `message_delta`
/// (stop reason, output usage), `message_stop`, `ping` and `error`.
public struct AnthropicStreamDecoder: ProviderStreamDecoder {
  private var model: String
  private var content = ""
  /// Content block index → tool call (in order of appearance).
  private var toolBlocks: [Int: Int] = [:]
  private var toolCalls: [(id: String, name: String, arguments: String, initial: String)] = []
  private var finish: FinishReason?
  private var usage: JSONValue = .object([:])
  private var sawMessageDelta = false

  /// Creates a decoder for an answer of `model`.
  public init(model: String) { self.model = model }

  public var isComplete: Bool { sawMessageDelta && finish != nil }
  public var hasContent: Bool { !content.isEmpty || !toolCalls.isEmpty }

  public mutating func decode(_ event: ServerSentEvent) throws -> StreamStep {
    if event.data.isEmpty { return StreamStep() }
    let e: AnthropicWire.Event
    do {
      e = try AnthropicWire.scanEvent(event.data)
    } catch {
      throw ProviderFailure(.invalidResponse, httpStatus: 200, message: "malformed stream event (not JSON)",
                            afterHeaders: true)
    }
    var step = StreamStep()
    switch e.type {
    case "message_start":
      if let m = e.message?.model, !m.isEmpty { model = m }
      if let u = e.message?.usage { merge(u) }
    case "content_block_start":
      guard let block = e.content_block, let index = e.index else { break }
      if block.type == "tool_use" {
        let toolIndex = toolCalls.count
        toolBlocks[index] = toolIndex
        let initial = block.input.flatMap { v -> String? in
          if case .object(let o) = v, o.isEmpty { return nil }
          return v.jsonText
        } ?? ""
        toolCalls.append((id: block.id ?? "toolu_\(toolIndex)", name: block.name ?? "", arguments: "", initial: initial))
        step.deltas.append(.toolCall(index: toolIndex, id: block.id, name: block.name, argumentsDelta: ""))
      } else if block.type == "text", let text = block.text, !text.isEmpty {
        content += text
        step.deltas.append(.text(text))
      }
    case "content_block_delta":
      guard let delta = e.delta else { break }
      switch delta.type {
      case "text_delta":
        if let text = delta.text, !text.isEmpty {
          content += text
          step.deltas.append(.text(text))
        }
      case "input_json_delta":
        if let index = e.index, let toolIndex = toolBlocks[index], let part = delta.partial_json {
          toolCalls[toolIndex].arguments += part
          step.deltas.append(.toolCall(index: toolIndex, id: nil, name: nil, argumentsDelta: part))
        }
      default: break  // thinking_delta, signature_delta, citations
      }
    case "message_delta":
      sawMessageDelta = true
      if let reason = e.delta?.stop_reason { finish = AnthropicWire.finishReason(reason) }
      if let u = e.usage { merge(u) }
    case "message_stop":
      step.terminated = true
    case "error":
      throw AnthropicWire.failure(e.error ?? .object([:]))
    default:
      break  // ping, content_block_stop, future event types
    }
    return step
  }

  /// Later usage objects (message_delta) update the counts of earlier ones (message_start).
  private mutating func merge(_ u: JSONValue) {
    guard case .object(let new) = u, case .object(var current) = usage else { return }
    for (k, v) in new where v != .null { current[k] = v }
    usage = .object(current)
  }

  public func response() -> ProviderResponse {
    let calls = toolCalls.map { c in
      ToolCall(id: c.id, name: c.name, argumentsJSON: c.arguments.isEmpty ? (c.initial.isEmpty ? "{}" : c.initial) : c.arguments)
    }
    let read = OpenAIWire.int(usage["cache_read_input_tokens"])
    let write = OpenAIWire.int(usage["cache_creation_input_tokens"])
    let u = Usage(inputTokens: OpenAIWire.int(usage["input_tokens"]) + read + write,
                  outputTokens: OpenAIWire.int(usage["output_tokens"]), cachedInputTokens: read, cacheWriteTokens: write)
    return ProviderResponse(content: content, toolCalls: calls,
                            finishReason: finish ?? (calls.isEmpty ? .stop : .toolCalls), usage: u, model: model)
  }
}
