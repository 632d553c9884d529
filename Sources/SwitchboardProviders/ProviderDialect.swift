import NIOCore
import NIOHTTP1
import SwitchboardCore

/// An HTTP request a dialect built for one attempt.
public struct PreparedRequest: Sendable {
  /// The full URL.
  public var url: String
  /// Headers, including the auth header with the revealed key.
  public var headers: HTTPHeaders
  /// The JSON body.
  public var body: ByteBuffer
  /// Creates a request.
  public init(url: String, headers: HTTPHeaders, body: ByteBuffer) {
    self.url = url; self.headers = headers; self.body = body
  }
}

/// What an error answer's body said, in either common shape
/// (`{"error":{"message","type","code"}}` or `{"type":"error","error":{"type","message"}}`).
public struct ProviderErrorDetails: Sendable, Hashable {
  /// The provider's error code (`context_length_exceeded`), or "".
  public var code: String
  /// The provider's error type (`invalid_request_error`, `overloaded_error`), or "".
  public var type: String
  /// The provider's message, or "".
  public var message: String
  /// Creates details.
  public init(code: String = "", type: String = "", message: String = "") {
    self.code = code; self.type = type; self.message = message
  }
}

/// Request options after translation for one model, with a note for each option
/// that was dropped or renamed (surfaced as `ProviderResponse.warnings`).
public struct TranslatedOptions: Sendable, Hashable {
  /// Body members to set (e.g. `max_completion_tokens`, `temperature`).
  public var fields: [String: JSONValue]
  /// One short note per dropped or renamed option, e.g. `temperature_dropped:o3`.
  public var warnings: [String]
  /// Creates translated options.
  public init(fields: [String: JSONValue] = [:], warnings: [String] = []) {
    self.fields = fields; self.warnings = warnings
  }
}

/// What one streamed event did.
public struct StreamStep: Sendable, Hashable {
  /// Deltas to hand to the caller, in order.
  public var deltas: [StreamDelta]
  /// Whether this event was the stream's terminator (`[DONE]`, `message_stop`).
  public var terminated: Bool
  /// Creates a step.
  public init(deltas: [StreamDelta] = [], terminated: Bool = false) {
    self.deltas = deltas; self.terminated = terminated
  }
}

/// The stateful decoder of one streamed answer.
public protocol ProviderStreamDecoder: Sendable {
  /// Decodes one server-sent event. Throws `ProviderFailure` for a malformed
  /// event (`invalid_response`) or an in-stream error event.
  mutating func decode(_ event: ServerSentEvent) throws -> StreamStep
  /// Whether the answer is complete without its terminator: a finish reason and
  /// the usage have both been seen, so a clean close can be finalised.
  var isComplete: Bool { get }
  /// Whether any content (text or tool call) has been decoded.
  var hasContent: Bool { get }
  /// The whole answer so far.
  func response() -> ProviderResponse
}

/// One provider wire format: the steps of an LLM client, free of I/O. The
/// generic `HTTPProviderAdapter` runs any dialect over AsyncHTTPClient.
public protocol ProviderDialect: Sendable {
  /// The decoder of a streamed answer.
  associatedtype StreamDecoder: ProviderStreamDecoder

  /// The adapter kind (`openai`, `anthropic`).
  var kind: String { get }
  /// The conventional environment variable of the key, or nil when none is needed.
  var conventionalKeyEnvironmentVariable: String? { get }
  /// Whether a call without a key is pointless.
  var requiresKey: Bool { get }

  /// Translates the request's options for `model` (whose catalog entry is `info`).
  func translateOptions(_ request: ChatRequest, model: String, info: ModelInfo?) -> TranslatedOptions
  /// Builds the HTTP request: URL, headers (auth with the revealed key) and JSON body.
  func prepareRequest(_ call: ProviderCall, options: TranslatedOptions, stream: Bool) throws -> PreparedRequest
  /// Decodes a 2xx unary body. Throws `ProviderFailure(.invalidResponse)` when it cannot.
  func decodeResponse(_ body: ByteBuffer, model: String) throws -> ProviderResponse
  /// A fresh decoder for one streamed answer.
  func makeStreamDecoder(model: String) -> StreamDecoder
  /// Token usage from a usage object of this wire format (unary body or stream event).
  func extractUsage(_ usage: JSONValue) -> Usage
  /// Reads an error answer's body.
  func errorDetails(status: Int, body: ByteBuffer) -> ProviderErrorDetails
}

extension ProviderDialect {
  /// Parses both common error body shapes, plus `{"error":"text"}` and top-level
  /// `message`/`detail`; an unparseable body yields its first 200 characters.
  public func errorDetails(status: Int, body: ByteBuffer) -> ProviderErrorDetails {
    ErrorBodyParser.parse(body)
  }
}
