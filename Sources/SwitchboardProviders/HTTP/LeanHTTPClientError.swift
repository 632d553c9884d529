/// Why `LeanHTTPClient` ended a request without a response.
public struct LeanHTTPClientError: Error, Hashable, Sendable, CustomStringConvertible {
  private enum Base: Hashable, Sendable {
    case invalidURL, connectionClosed, cancelled, shutDown, invalidResponse
  }

  private let base: Base

  /// The URL is not `http://host[:port]/path`.
  public static let invalidURL = LeanHTTPClientError(base: .invalidURL)
  /// The connection closed before the response ended.
  public static let connectionClosed = LeanHTTPClientError(base: .connectionClosed)
  /// The request was cancelled.
  public static let cancelled = LeanHTTPClientError(base: .cancelled)
  /// The client was shut down.
  public static let shutDown = LeanHTTPClientError(base: .shutDown)
  /// The response could not be parsed as HTTP/1.1.
  public static let invalidResponse = LeanHTTPClientError(base: .invalidResponse)

  /// A fixed short description (fit for a metric label or a reason message).
  public var shortDescription: String {
    switch base {
    case .invalidURL: "invalid URL"
    case .connectionClosed: "remote connection closed"
    case .cancelled: "cancelled"
    case .shutDown: "client shut down"
    case .invalidResponse: "invalid HTTP response"
    }
  }

  public var description: String { shortDescription }
}
