import SwitchboardCore

/// An error as an OpenAI client expects it: an HTTP status and the body
/// `{"error": {"message", "type", "param", "code"}}`, plus the headers the
/// OpenAI SDKs read to decide whether to retry (`retry-after`, `x-should-retry`).
public struct OpenAIError: Error, Sendable, Hashable {
  /// HTTP status.
  public var status: Int
  /// OpenAI error type (`invalid_request_error`, `rate_limit_error`, …).
  public var type: String
  /// Machine-readable code (the daemon's reason code).
  public var code: String
  /// Human-readable message; never contains a secret or a config value.
  public var message: String
  /// The request field at fault, if any.
  public var param: String?
  /// Seconds for `Retry-After`, if known.
  public var retryAfterSeconds: Int?
  /// `x-should-retry`: nil = let the SDK decide by status.
  public var shouldRetry: Bool?

  /// Creates an error.
  public init(status: Int, type: String, code: String, message: String, param: String? = nil,
              retryAfterSeconds: Int? = nil, shouldRetry: Bool? = nil) {
    self.status = status; self.type = type; self.code = code; self.message = message; self.param = param
    self.retryAfterSeconds = retryAfterSeconds; self.shouldRetry = shouldRetry
  }

  /// A 400 for a request the daemon refuses before routing.
  static func invalid(_ message: String, param: String? = nil, code: String = "invalid_request") -> OpenAIError {
    OpenAIError(status: 400, type: "invalid_request_error", code: code, message: message, param: param, shouldRetry: false)
  }

  /// The `{"error": …}` JSON object.
  var json: String {
    var out = "{\"error\":{\"message\":"
    JSONText.appendQuoted(message, to: &out)
    out += ",\"type\":"
    JSONText.appendQuoted(type, to: &out)
    out += ",\"param\":"
    if let param { JSONText.appendQuoted(param, to: &out) } else { out += "null" }
    out += ",\"code\":"
    JSONText.appendQuoted(code, to: &out)
    out += "}}"
    return out
  }

  /// Maps a routing failure to the status and type an OpenAI client acts on.
  ///
  /// `now` (wall clock, ms) gives the Retry-After of a daily budget: the seconds
  /// until the next UTC day, when the budget window rolls over.
  public static func from(_ e: RoutingError, wallMillis now: Int64) -> OpenAIError {
    let retryAfter = e.retryAfter.map { max(1, Int(($0.milliseconds / 1000).rounded(.up))) }
    func make(_ status: Int, _ type: String, retry: Bool? = nil, after: Int? = nil) -> OpenAIError {
      OpenAIError(status: status, type: type, code: e.reason.rawValue, message: e.message, retryAfterSeconds: after ?? retryAfter,
                  shouldRetry: retry)
    }
    switch e.code {
    case .invalidArgument: return make(400, "invalid_request_error", retry: false)
    case .upstreamRejected: return make(400, "invalid_request_error", retry: false)
    case .failedPrecondition: return make(400, "invalid_request_error", retry: false)
    case .notFound:
      if e.reason == .unknownRoute {
        // OpenAI's own code for an unknown model, so SDK users recognise it.
        return OpenAIError(status: 404, type: "invalid_request_error", code: "model_not_found",
                           message: e.message + "; GET /v1/models lists the routes", param: "model", shouldRetry: false)
      }
      return make(404, "invalid_request_error", retry: false)
    case .permissionDenied: return make(403, "permission_error", retry: false)
    case .unauthenticated:
      // The daemon has no key for the provider: an operator problem, not the client's token.
      return make(500, "server_error", retry: false)
    case .deadlineExceeded: return make(408, "timeout_error")
    case .resourceExhausted:
      // A budget refusal: 429 like OpenAI's insufficient_quota; retrying before the
      // window rolls over cannot succeed, so the SDK is told not to.
      let untilNextDay = Int((86_400_000 - (now % 86_400_000)) / 1000) + 1
      return make(429, "insufficient_quota", retry: false, after: retryAfter ?? untilNextDay)
    case .overloaded: return make(503, "server_error", retry: true, after: retryAfter ?? 1)
    case .cancelled: return make(499, "server_error", retry: false)
    case .internal: return make(500, "server_error")
    case .unavailable:
      if e.reason == .rateLimited { return make(429, "rate_limit_error") }
      if e.reason == .circuitOpen || e.reason == .noEligibleCandidate { return make(503, "server_error", retry: e.retryable) }
      // Every candidate was tried and failed upstream.
      return make(502, "server_error", retry: e.retryable)
    }
  }
}
