/// What the fake provider does with one request instead of (or while) answering.
public enum FakeFault: Sendable, Hashable, Codable, CustomStringConvertible {
  /// Answer normally.
  case ok
  /// Answer `status` with `body` (default: an error body of the request's wire format)
  /// and an optional raw `Retry-After` header value (seconds or an HTTP date).
  case status(Int, body: String? = nil, retryAfter: String? = nil)
  /// 429 with `Retry-After` (raw header value) and a rate-limit error body.
  case rateLimited(retryAfter: String)
  /// Read the request and never answer; keep the connection open.
  case hang
  /// Close the connection without answering.
  case resetBeforeHeaders
  /// Take `milliseconds` to generate. Unary: the response head comes only when the
  /// generation is done (as real providers answer a non-streamed call). Streamed: the
  /// head and the events without content (role chunk, `message_start`, `ping`) come at
  /// once, then keep-alives, then the first content delta after the delay.
  case slowFirstToken(milliseconds: Int)
  /// Streamed: after `afterChunks` events, only keep-alives, forever (connection open).
  case keepAlivesOnly(afterChunks: Int)
  /// Streamed: close the connection after `afterChunks` events (unary: mid-body).
  case streamCut(afterChunks: Int)
  /// Streamed: go silent after `afterChunks` events, keeping the connection open.
  case stall(afterChunks: Int)
  /// Streamed: send a malformed (non-JSON) event after `afterChunks` events.
  case malformedChunk(afterChunks: Int)
  /// Streamed: send everything up to the usage but no `[DONE]`/`message_stop`, then end cleanly.
  case missingTerminator
  /// Streamed: an in-stream error event after `afterChunks` events (Anthropic `overloaded_error`).
  case streamError(afterChunks: Int)
  /// 400 when the last message is an assistant one (prefill), else answer normally.
  case rejectPrefill
  /// 400 context length exceeded, in the request's wire format.
  case contextLengthExceeded
  /// 400 content policy violation, in the request's wire format.
  case contentPolicy
  /// 200 whose answer the safety system stopped: `finish_reason: content_filter`
  /// (OpenAI) or `stop_reason: refusal` (Anthropic), unary or streamed.
  case contentFilterFinish
  /// 401 invalid key (the message echoes the key, as a careless provider might).
  case unauthorized
  /// 404 unknown model.
  case modelNotFound
  /// Answer normally, but with `text` as the whole content (one piece): e.g. a
  /// router model's JSON, or an answer of a chosen size.
  case reply(String)

  public var description: String {
    switch self {
    case .ok: return "ok"
    case .status(let s, _, _): return "status_\(s)"
    case .rateLimited: return "rate_limited"
    case .hang: return "hang"
    case .resetBeforeHeaders: return "reset_before_headers"
    case .slowFirstToken(let ms): return "slow_first_token_\(ms)ms"
    case .keepAlivesOnly(let n): return "keep_alives_only_after_\(n)"
    case .streamCut(let n): return "stream_cut_after_\(n)"
    case .stall(let n): return "stall_after_\(n)"
    case .malformedChunk(let n): return "malformed_after_\(n)"
    case .missingTerminator: return "missing_terminator"
    case .streamError(let n): return "stream_error_after_\(n)"
    case .rejectPrefill: return "reject_prefill"
    case .contextLengthExceeded: return "context_length_exceeded"
    case .contentPolicy: return "content_policy"
    case .contentFilterFinish: return "content_filter_finish"
    case .unauthorized: return "unauthorized"
    case .modelNotFound: return "model_not_found"
    case .reply: return "reply"
    }
  }

  // Script files: {"fault": "status", "status": 503, "body": "...", "retry_after": "2"},
  // {"fault": "stall", "after_chunks": 2}, {"fault": "slow_first_token", "ms": 500}, {"fault": "hang"}.
  private enum Keys: String, CodingKey {
    case fault, status, body, retryAfter = "retry_after", afterChunks = "after_chunks", ms, text
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: Keys.self)
    let name = try c.decode(String.self, forKey: .fault)
    let n = try c.decodeIfPresent(Int.self, forKey: .afterChunks) ?? 1
    switch name {
    case "ok": self = .ok
    case "status":
      self = .status(try c.decode(Int.self, forKey: .status), body: try c.decodeIfPresent(String.self, forKey: .body),
                     retryAfter: try c.decodeIfPresent(String.self, forKey: .retryAfter))
    case "rate_limited": self = .rateLimited(retryAfter: try c.decodeIfPresent(String.self, forKey: .retryAfter) ?? "1")
    case "hang": self = .hang
    case "reset_before_headers", "reset": self = .resetBeforeHeaders
    case "slow_first_token": self = .slowFirstToken(milliseconds: try c.decodeIfPresent(Int.self, forKey: .ms) ?? 1000)
    case "stream_cut": self = .streamCut(afterChunks: n)
    case "stall": self = .stall(afterChunks: n)
    case "keep_alives_only": self = .keepAlivesOnly(afterChunks: n)
    case "malformed_chunk", "malformed": self = .malformedChunk(afterChunks: n)
    case "missing_terminator", "missing_done": self = .missingTerminator
    case "stream_error": self = .streamError(afterChunks: n)
    case "reject_prefill": self = .rejectPrefill
    case "context_length_exceeded": self = .contextLengthExceeded
    case "content_policy": self = .contentPolicy
    case "content_filter_finish", "refusal": self = .contentFilterFinish
    case "unauthorized": self = .unauthorized
    case "model_not_found": self = .modelNotFound
    case "reply": self = .reply(try c.decode(String.self, forKey: .text))
    default:
      throw DecodingError.dataCorruptedError(forKey: .fault, in: c, debugDescription: "unknown fault '\(name)'")
    }
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Keys.self)
    switch self {
    case .ok: try c.encode("ok", forKey: .fault)
    case .status(let s, let body, let ra):
      try c.encode("status", forKey: .fault); try c.encode(s, forKey: .status)
      try c.encodeIfPresent(body, forKey: .body); try c.encodeIfPresent(ra, forKey: .retryAfter)
    case .rateLimited(let ra): try c.encode("rate_limited", forKey: .fault); try c.encode(ra, forKey: .retryAfter)
    case .hang: try c.encode("hang", forKey: .fault)
    case .resetBeforeHeaders: try c.encode("reset_before_headers", forKey: .fault)
    case .slowFirstToken(let ms): try c.encode("slow_first_token", forKey: .fault); try c.encode(ms, forKey: .ms)
    case .streamCut(let n): try c.encode("stream_cut", forKey: .fault); try c.encode(n, forKey: .afterChunks)
    case .stall(let n): try c.encode("stall", forKey: .fault); try c.encode(n, forKey: .afterChunks)
    case .keepAlivesOnly(let n): try c.encode("keep_alives_only", forKey: .fault); try c.encode(n, forKey: .afterChunks)
    case .malformedChunk(let n): try c.encode("malformed_chunk", forKey: .fault); try c.encode(n, forKey: .afterChunks)
    case .missingTerminator: try c.encode("missing_terminator", forKey: .fault)
    case .streamError(let n): try c.encode("stream_error", forKey: .fault); try c.encode(n, forKey: .afterChunks)
    case .rejectPrefill: try c.encode("reject_prefill", forKey: .fault)
    case .contextLengthExceeded: try c.encode("context_length_exceeded", forKey: .fault)
    case .contentPolicy: try c.encode("content_policy", forKey: .fault)
    case .contentFilterFinish: try c.encode("content_filter_finish", forKey: .fault)
    case .unauthorized: try c.encode("unauthorized", forKey: .fault)
    case .modelNotFound: try c.encode("model_not_found", forKey: .fault)
    case .reply(let t): try c.encode("reply", forKey: .fault); try c.encode(t, forKey: .text)
    }
  }
}

/// A fault script: a global queue consumed first (one fault per request, in
/// arrival order), then per-model queues; when both are empty a request is answered normally.
public struct FakeScript: Sendable, Hashable, Codable {
  /// Faults for the next requests, whatever their model.
  public var sequence: [FakeFault]
  /// Faults per model name, consumed in order.
  public var models: [String: [FakeFault]]
  /// Creates a script.
  public init(sequence: [FakeFault] = [], models: [String: [FakeFault]] = [:]) {
    self.sequence = sequence; self.models = models
  }
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    sequence = try c.decodeIfPresent([FakeFault].self, forKey: .sequence) ?? []
    models = try c.decodeIfPresent([String: [FakeFault]].self, forKey: .models) ?? [:]
  }
  /// The next fault for a request for `model`.
  mutating func next(model: String) -> FakeFault {
    if !sequence.isEmpty { return sequence.removeFirst() }
    if var queue = models[model], !queue.isEmpty {
      let f = queue.removeFirst()
      models[model] = queue
      return f
    }
    return .ok
  }
}
