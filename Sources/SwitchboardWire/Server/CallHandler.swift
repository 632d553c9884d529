/// What the server calls for each admitted call. Implementations must end every
/// call with exactly one terminal frame (`call.finish`/`call.fail`); the server
/// sends `INTERNAL` for a call that returns without one.
public protocol CallHandler: Sendable {
  /// Handles a completion request (unary or streaming).
  func handleCompletion(_ request: Switchboard_V1_CompletionRequest, call: ServerCall) async
  /// Handles an admin request.
  func handleAdmin(_ request: Switchboard_V1_AdminRequest, call: ServerCall) async
}
