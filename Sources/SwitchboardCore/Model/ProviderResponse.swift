/// Why the model stopped.
public enum FinishReason: String, Codable, Hashable, Sendable {
  case stop, length, toolCalls = "tool_calls", contentFilter = "content_filter", unknown
}

/// A provider's complete answer to one attempt.
public struct ProviderResponse: Codable, Hashable, Sendable {
  public var content: String
  public var toolCalls: [ToolCall]
  public var finishReason: FinishReason
  /// Usage as reported by the provider (estimated when it reported none).
  public var usage: Usage
  /// The model id the provider says answered.
  public var model: String
  /// Options dropped or renamed while translating the request.
  public var warnings: [String]
  /// Creates a response.
  public init(content: String, toolCalls: [ToolCall] = [], finishReason: FinishReason = .stop,
              usage: Usage = .zero, model: String = "", warnings: [String] = []) {
    self.content = content; self.toolCalls = toolCalls; self.finishReason = finishReason
    self.usage = usage; self.model = model; self.warnings = warnings
  }
}

/// One streamed piece of an answer.
public enum StreamDelta: Hashable, Sendable {
  /// Text to append to the answer.
  case text(String)
  /// A piece of a tool call.
  case toolCall(index: Int, id: String?, name: String?, argumentsDelta: String)
}
