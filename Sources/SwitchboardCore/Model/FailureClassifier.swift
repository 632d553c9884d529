/// Maps what a provider answered onto a reason code. Pure, so every HTTP adapter
/// classifies the same way and the mapping is unit-testable.
public enum FailureClassifier {
  /// Classifies an HTTP error answer from its status and the error body's code,
  /// type and message (any may be empty).
  public static func classify(httpStatus: Int, errorCode: String = "", errorType: String = "", message: String = "") -> ReasonCode {
    let text = (errorCode + " " + errorType + " " + message).lowercased()
    func has(_ needles: String...) -> Bool { needles.contains { text.contains($0) } }

    if has("context_length_exceeded", "context length", "maximum context", "too many tokens",
           "prompt is too long", "context window", "string_above_max_length") {
      return .contextLengthExceeded
    }
    if has("content_policy", "content_filter", "content filtering", "content management policy", "safety", "moderation") {
      return .contentPolicy
    }
    if has("insufficient_quota", "quota", "billing", "credit balance") && httpStatus != 500 {
      return .quotaExhausted
    }
    if has("model_not_found", "does not exist", "no such model", "unknown model") && httpStatus < 500 {
      return .modelNotFound
    }
    switch httpStatus {
    case 401, 403: return .invalidCredentials
    case 402: return .quotaExhausted
    case 404: return .modelNotFound
    case 408: return .timeout
    case 413: return .contextLengthExceeded
    case 429: return .rateLimited
    case 400, 405, 409, 411, 415, 422: return .invalidRequest
    case 529: return .provider5xx  // Anthropic "overloaded"
    case 500...599: return .provider5xx
    default: return httpStatus >= 400 && httpStatus < 500 ? .invalidRequest : .invalidResponse
    }
  }
}
