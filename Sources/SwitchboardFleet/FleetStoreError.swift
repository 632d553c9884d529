/// A fleet database call failed. The message names the operation, never the URL,
/// the user or the password.
public struct FleetStoreError: Error, Sendable, Hashable, CustomStringConvertible {
  /// What went wrong, as a fixed code fit for a metric label.
  public struct Code: Sendable, Hashable, CustomStringConvertible {
    private enum Value: String, Sendable, Hashable { case timeout, unavailable, schema, notReady = "not_ready" }
    private let value: Value
    private init(_ v: Value) { value = v }
    /// The call did not finish within `shared_state.postgres.timeout_ms`.
    public static let timeout = Code(.timeout)
    /// The server refused, dropped or failed the call.
    public static let unavailable = Code(.unavailable)
    /// The schema could not be created or is newer than this binary.
    public static let schema = Code(.schema)
    /// The schema has not been created yet (the database was down at start).
    public static let notReady = Code(.notReady)
    public var description: String { value.rawValue }
  }
  /// The code.
  public var code: Code
  /// The operation (`reserve`, `settle`, `migrate`, …) and a short cause.
  public var message: String
  /// Creates an error.
  public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
  public var description: String { "shared state \(code): \(message)" }
}
