/// One of the daemon's own timeouts that ended an attempt.
public struct FiredTimeout: Hashable, Sendable {
  /// The route key that sets it: `connect_ms`, `first_token_ms`, `idle_ms`,
  /// `attempt_ms` or `deadline_ms` (the request's overall deadline, `retry.deadline_ms`
  /// or the request's own `deadline_ms`).
  public var name: String
  /// Its limit.
  public var limit: Duration
  /// Creates a record.
  public init(name: String, limit: Duration) { self.name = name; self.limit = limit }
}

extension TimeoutPolicy {
  /// Which of these limits a failure means fired; nil for any other failure.
  ///
  /// The adapters report each limit with its own reason code: `first_token_timeout`
  /// (first token), `stream_stalled` (idle gap between content events), `timeout`
  /// (the attempt deadline), `deadline_exceeded` (the request's overall deadline),
  /// and a silent `connect_failed` (no connection within the connect limit; a refused
  /// connection is not a timeout). A failure with an HTTP status is the provider's
  /// own answer (a 408 maps to `timeout`), never one of ours.
  public func fired(by failure: ProviderFailure, overallDeadline: Duration) -> FiredTimeout? {
    guard failure.httpStatus == nil || failure.reason == .firstTokenTimeout || failure.reason == .streamStalled else { return nil }
    switch failure.reason {
    case .firstTokenTimeout: return FiredTimeout(name: "first_token_ms", limit: firstToken)
    case .streamStalled: return FiredTimeout(name: "idle_ms", limit: idle)
    case .timeout: return FiredTimeout(name: "attempt_ms", limit: attempt)
    case .deadlineExceeded: return FiredTimeout(name: "deadline_ms", limit: overallDeadline)
    case .connectFailed where failure.silent: return FiredTimeout(name: "connect_ms", limit: connect)
    default: return nil
    }
  }
}
