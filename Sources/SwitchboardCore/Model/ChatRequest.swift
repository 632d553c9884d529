/// The role of a chat message.
public enum ChatRole: String, Codable, Hashable, Sendable {
  case system, user, assistant, tool
}

/// A tool call made by the model.
public struct ToolCall: Codable, Hashable, Sendable {
  /// Provider-assigned id, echoed in the tool result.
  public var id: String
  /// Tool name.
  public var name: String
  /// Arguments as a JSON object text.
  public var argumentsJSON: String
  /// Creates a tool call.
  public init(id: String, name: String, argumentsJSON: String) {
    self.id = id; self.name = name; self.argumentsJSON = argumentsJSON
  }
}

/// An image given to a model with the `vision` capability.
public struct ImageReference: Codable, Hashable, Sendable {
  /// `https://…` or a `data:image/…;base64,…` URL.
  public var url: String
  /// "auto", "low" or "high"; nil = the provider's default.
  public var detail: String?
  /// Creates an image reference.
  public init(url: String, detail: String? = nil) { self.url = url; self.detail = detail }
}

/// One part of a message's content, in order.
public enum ContentPart: Codable, Hashable, Sendable {
  case text(String)
  case image(ImageReference)
}

/// One message of a conversation.
public struct ChatMessage: Codable, Hashable, Sendable {
  public var role: ChatRole
  /// The message's text (for a message with `parts`, its text parts joined).
  public var content: String
  /// The content in order when it has more than text (images); empty = `content` alone.
  public var parts: [ContentPart]
  /// Assistant messages: the tool calls the model made.
  public var toolCalls: [ToolCall]
  /// Tool messages: the call this answers.
  public var toolCallID: String?
  /// Optional participant or tool name.
  public var name: String?
  /// Creates a message.
  public init(role: ChatRole, content: String, parts: [ContentPart] = [], toolCalls: [ToolCall] = [],
              toolCallID: String? = nil, name: String? = nil) {
    self.role = role; self.content = content; self.parts = parts; self.toolCalls = toolCalls
    self.toolCallID = toolCallID; self.name = name
  }

  /// Whether any part is an image.
  public var hasImages: Bool {
    parts.contains { if case .image = $0 { true } else { false } }
  }
}

/// A tool the model may call.
public struct ToolSpec: Codable, Hashable, Sendable {
  public var name: String
  public var description: String
  /// JSON schema of the parameters object, as text.
  public var parametersJSONSchema: String
  /// Creates a tool.
  public init(name: String, description: String = "", parametersJSONSchema: String = "{\"type\":\"object\"}") {
    self.name = name; self.description = description; self.parametersJSONSchema = parametersJSONSchema
  }
}

/// The shape the answer must take.
public enum ResponseFormat: Codable, Hashable, Sendable {
  case text
  case jsonObject
  case jsonSchema(name: String, schema: String, strict: Bool)
}

/// Per-request hard caps, on top of the route's own.
public struct RequestConstraints: Codable, Hashable, Sendable {
  /// Worst-case cost cap in USD.
  public var maxCostUSD: Double?
  /// Observed p95 latency above this skips a candidate.
  public var latencySLA: Duration?
  /// Capabilities every candidate must have.
  public var required: Set<Capability>
  /// Creates constraints.
  public init(maxCostUSD: Double? = nil, latencySLA: Duration? = nil, required: Set<Capability> = []) {
    self.maxCostUSD = maxCostUSD; self.latencySLA = latencySLA; self.required = required
  }
}

/// A provider-neutral completion request.
public struct ChatRequest: Sendable {
  /// Route name, or nil with `explicitTarget`.
  public var route: String?
  /// "provider/model" when the request names one directly.
  public var explicitTarget: CandidateRef?
  public var messages: [ChatMessage]
  public var tools: [ToolSpec]
  /// "auto", "none", "required", a tool name, or nil.
  public var toolChoice: String?
  public var responseFormat: ResponseFormat
  public var maxTokens: Int?
  public var temperature: Double?
  public var topP: Double?
  public var stop: [String]
  public var seed: Int64?
  /// Whether the client wants chunks as they arrive.
  public var stream: Bool
  public var constraints: RequestConstraints
  /// Budget scope; nil = derived from the peer uid by the daemon.
  public var tenant: String?
  public var tags: [String: String]
  /// Per-provider keys for this request only (highest precedence).
  public var keyOverrides: [String: Secret]
  /// Overall deadline relative to the start of the request; nil = the route's.
  public var deadline: Duration?
  /// Client-chosen request id, or nil.
  public var requestID: String?
  /// False for a client that cannot discard a partial answer (an OpenAI-style
  /// stream): after a stream fails mid-answer the route's `restart` then behaves
  /// as `continue` where the next candidate can prefill, and otherwise the
  /// request ends with a clean error. Never a silently spliced answer.
  public var streamRestartAllowed: Bool = true

  /// Creates a request.
  public init(
    route: String? = nil, explicitTarget: CandidateRef? = nil, messages: [ChatMessage],
    tools: [ToolSpec] = [], toolChoice: String? = nil, responseFormat: ResponseFormat = .text,
    maxTokens: Int? = nil, temperature: Double? = nil, topP: Double? = nil, stop: [String] = [],
    seed: Int64? = nil, stream: Bool = false, constraints: RequestConstraints = .init(),
    tenant: String? = nil, tags: [String: String] = [:], keyOverrides: [String: Secret] = [:],
    deadline: Duration? = nil, requestID: String? = nil
  ) {
    self.route = route; self.explicitTarget = explicitTarget; self.messages = messages
    self.tools = tools; self.toolChoice = toolChoice; self.responseFormat = responseFormat
    self.maxTokens = maxTokens; self.temperature = temperature; self.topP = topP; self.stop = stop
    self.seed = seed; self.stream = stream; self.constraints = constraints; self.tenant = tenant
    self.tags = tags; self.keyOverrides = keyOverrides; self.deadline = deadline; self.requestID = requestID
  }

  /// Capabilities this request needs from any model that serves it.
  public var impliedCapabilities: Set<Capability> {
    var caps = constraints.required
    if !tools.isEmpty { caps.insert(.tools) }
    if case .jsonSchema = responseFormat { caps.insert(.jsonSchema) }
    if stream { caps.insert(.streaming) }
    if messages.contains(where: \.hasImages) { caps.insert(.vision) }
    return caps
  }
}
