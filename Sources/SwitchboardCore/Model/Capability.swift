/// A feature a model must support for a request to be routed to it.
public enum Capability: String, CaseIterable, Codable, Hashable, Sendable, Comparable {
  /// Function / tool calling.
  case tools
  /// Image inputs.
  case vision
  /// Structured output constrained by a JSON schema.
  case jsonSchema = "json_schema"
  /// Server-sent streaming of the answer.
  case streaming
  /// Continuing a partial assistant message (used by `on_stream_failure: continue`).
  case prefill

  public static func < (a: Capability, b: Capability) -> Bool { a.rawValue < b.rawValue }
}
