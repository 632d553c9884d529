/// Terminal status codes of a request (mirrors the wire `Status.Code`).
public enum RoutingStatusCode: String, Codable, Sendable, Hashable {
  case cancelled, invalidArgument = "invalid_argument", deadlineExceeded = "deadline_exceeded"
  case notFound = "not_found", permissionDenied = "permission_denied"
  case resourceExhausted = "resource_exhausted", failedPrecondition = "failed_precondition"
  case unavailable, `internal`, unauthenticated, overloaded, upstreamRejected = "upstream_rejected"
}

/// Why a request failed as a whole.
public struct RoutingError: Error, Sendable, Hashable, CustomStringConvertible {
  public var code: RoutingStatusCode
  public var reason: ReasonCode
  public var message: String
  public var retryable: Bool
  public var retryAfter: Duration?
  /// Creates an error.
  public init(_ code: RoutingStatusCode, _ reason: ReasonCode, _ message: String, retryable: Bool = false, retryAfter: Duration? = nil) {
    self.code = code; self.reason = reason; self.message = message; self.retryable = retryable; self.retryAfter = retryAfter
  }
  public var description: String { "\(code.rawValue)/\(reason.rawValue): \(message)" }
}
