/// Why the metrics server could not start or serve.
public struct MetricsServerError: Error, Sendable, Hashable, CustomStringConvertible {
  /// A stable error code.
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    private enum Wrapped: Hashable, Sendable { case nonLoopbackHost, invalidHost, alreadyStarted, shutDown }
    private let wrapped: Wrapped
    private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

    /// The host is not a loopback address and non-loopback binding was not allowed.
    public static let nonLoopbackHost = Code(.nonLoopbackHost)
    /// The host is neither an IP address nor `localhost`.
    public static let invalidHost = Code(.invalidHost)
    /// `run()` was called twice.
    public static let alreadyStarted = Code(.alreadyStarted)
    /// The server was shut down (or failed) before it was bound.
    public static let shutDown = Code(.shutDown)

    /// A short fixed description, fit for a metric label or a log field.
    public var description: String {
      switch wrapped {
      case .nonLoopbackHost: return "non_loopback_host"
      case .invalidHost: return "invalid_host"
      case .alreadyStarted: return "already_started"
      case .shutDown: return "shut_down"
      }
    }
  }

  /// What went wrong.
  public var code: Code
  /// A human-readable message naming the offending value.
  public var message: String
  /// The underlying error, described (e.g. the bind failure).
  public var cause: String?

  /// Creates an error.
  public init(code: Code, message: String, cause: String? = nil) {
    self.code = code; self.message = message; self.cause = cause
  }

  public var description: String {
    "metrics server: \(message)" + (cause.map { " (\($0))" } ?? "")
  }
}
