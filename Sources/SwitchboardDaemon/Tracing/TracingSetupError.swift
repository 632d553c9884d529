/// Tracing cannot start with the environment it was given (the daemon refuses to
/// start rather than crash or run without the traces it was told to export).
public struct TracingSetupError: Error, Sendable, CustomStringConvertible {
  /// What is wrong, naming the variable but not its value.
  public var message: String
  /// Creates an error.
  public init(_ message: String) { self.message = message }
  public var description: String { "tracing: \(message)" }
}
