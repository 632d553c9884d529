/// The body of `POST /v1/chat/completions` as the OpenAI API defines it. Fields
/// the daemon does not use (logprobs, penalties, …) are ignored, as the API's
/// own servers ignore unknown ones.
struct ChatCompletionRequestBody: Decodable, Sendable {
  var model: String
  var messages: [Message]
  var tools: [Tool]?
  var toolChoice: ToolChoice?
  var responseFormat: ResponseFormatBody?
  var maxTokens: Int?
  var maxCompletionTokens: Int?
  var temperature: Double?
  var topP: Double?
  var stop: Stop?
  var seed: Int64?
  var user: String?
  /// OpenAI's `metadata` (string pairs): recorded as the decision's tags.
  var metadata: [String: String]?
  var stream: Bool?
  var streamOptions: StreamOptions?
  var n: Int?

  enum CodingKeys: String, CodingKey {
    case model, messages, tools, temperature, stop, seed, user, metadata, stream, n
    case toolChoice = "tool_choice", responseFormat = "response_format", maxTokens = "max_tokens"
    case maxCompletionTokens = "max_completion_tokens", topP = "top_p", streamOptions = "stream_options"
  }

  struct Message: Decodable, Sendable {
    var role: String
    var content: Content?
    var name: String?
    var toolCalls: [ToolCallBody]?
    var toolCallID: String?
    enum CodingKeys: String, CodingKey {
      case role, content, name
      case toolCalls = "tool_calls", toolCallID = "tool_call_id"
    }
  }

  /// `content`: a string or a list of parts.
  enum Content: Decodable, Sendable {
    case text(String)
    case parts([Part])
    init(from decoder: any Decoder) throws {
      let c = try decoder.singleValueContainer()
      if let s = try? c.decode(String.self) { self = .text(s) } else { self = .parts(try c.decode([Part].self)) }
    }
  }

  struct Part: Decodable, Sendable {
    var type: String
    var text: String?
    var imageURL: ImageURL?
    enum CodingKeys: String, CodingKey { case type, text, imageURL = "image_url" }
  }

  struct ImageURL: Decodable, Sendable {
    var url: String
    var detail: String?
  }

  struct ToolCallBody: Decodable, Sendable {
    var id: String
    var type: String?
    var function: FunctionCall
  }

  struct FunctionCall: Decodable, Sendable {
    var name: String
    var arguments: String
  }

  struct Tool: Decodable, Sendable {
    var type: String
    var function: FunctionDefinition
  }

  struct FunctionDefinition: Decodable, Sendable {
    var name: String
    var description: String?
    var parameters: AnyJSON?
  }

  /// `tool_choice`: "none" | "auto" | "required" | {type: function, function: {name}}.
  enum ToolChoice: Decodable, Sendable {
    case mode(String)
    case function(String)
    init(from decoder: any Decoder) throws {
      let c = try decoder.singleValueContainer()
      if let s = try? c.decode(String.self) { self = .mode(s); return }
      struct Named: Decodable { struct F: Decodable { var name: String }; var type: String; var function: F }
      self = .function(try c.decode(Named.self).function.name)
    }
  }

  struct ResponseFormatBody: Decodable, Sendable {
    var type: String
    var jsonSchema: JSONSchemaBody?
    enum CodingKeys: String, CodingKey { case type, jsonSchema = "json_schema" }
  }

  struct JSONSchemaBody: Decodable, Sendable {
    var name: String?
    var schema: AnyJSON?
    var strict: Bool?
  }

  /// `stop`: a string or a list of strings.
  enum Stop: Decodable, Sendable {
    case one(String)
    case many([String])
    init(from decoder: any Decoder) throws {
      let c = try decoder.singleValueContainer()
      if let s = try? c.decode(String.self) { self = .one(s) } else { self = .many(try c.decode([String].self)) }
    }
    var values: [String] { switch self { case .one(let s): [s]; case .many(let a): a } }
  }

  struct StreamOptions: Decodable, Sendable {
    var includeUsage: Bool?
    enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
  }
}
