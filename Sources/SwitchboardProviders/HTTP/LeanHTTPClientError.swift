import NIOSSL

/// Why `LeanHTTPClient` ended a request without a response.
public struct LeanHTTPClientError: Error, Hashable, Sendable, CustomStringConvertible {
  private enum Base: Hashable, Sendable {
    case invalidURL, connectionClosed, cancelled, shutDown, invalidResponse
    case tlsUntrusted, tlsHostMismatch, tlsHandshakeFailed, tlsHandshakeTimeout
  }

  private let base: Base

  private init(base: Base) { self.base = base }

  /// The URL is not `http[s]://host[:port]/path`.
  public static let invalidURL = LeanHTTPClientError(base: .invalidURL)
  /// The connection closed before the response ended.
  public static let connectionClosed = LeanHTTPClientError(base: .connectionClosed)
  /// The request was cancelled.
  public static let cancelled = LeanHTTPClientError(base: .cancelled)
  /// The client was shut down.
  public static let shutDown = LeanHTTPClientError(base: .shutDown)
  /// The response could not be parsed as HTTP/1.1.
  public static let invalidResponse = LeanHTTPClientError(base: .invalidResponse)
  /// The server's certificate chain does not lead to a trusted root.
  public static let tlsUntrusted = LeanHTTPClientError(base: .tlsUntrusted)
  /// The server's certificate does not name the host connected to.
  public static let tlsHostMismatch = LeanHTTPClientError(base: .tlsHostMismatch)
  /// The TLS handshake failed for another reason (protocol, cipher, alert).
  public static let tlsHandshakeFailed = LeanHTTPClientError(base: .tlsHandshakeFailed)
  /// The TLS handshake did not finish within the client's connect timeout.
  public static let tlsHandshakeTimeout = LeanHTTPClientError(base: .tlsHandshakeTimeout)

  /// Maps a NIOSSL error onto a fixed failure (nil for other errors), so a message
  /// never carries a certificate's names or the library's error text.
  public init?(tlsError error: any Error) {
    if let e = error as? LeanHTTPClientError {
      guard [.tlsUntrusted, .tlsHostMismatch, .tlsHandshakeFailed, .tlsHandshakeTimeout].contains(e.base) else { return nil }
      self = e
    } else if let e = error as? NIOSSLExtraError, e == .failedToValidateHostname {
      self = .tlsHostMismatch
    } else if let e = error as? NIOSSLError {
      switch e {
      case .handshakeFailed(let inner):
        self = "\(inner)".contains("CERTIFICATE_VERIFY_FAILED") ? .tlsUntrusted : .tlsHandshakeFailed
      case .uncleanShutdown:
        self = .connectionClosed  // closed without close_notify: a cut, as on plain TCP
      default:
        return nil
      }
    } else {
      return nil
    }
  }

  /// A fixed short description (fit for a metric label or a reason message).
  public var shortDescription: String {
    switch base {
    case .invalidURL: "invalid URL"
    case .connectionClosed: "remote connection closed"
    case .cancelled: "cancelled"
    case .shutDown: "client shut down"
    case .invalidResponse: "invalid HTTP response"
    case .tlsUntrusted: "TLS: the server's certificate is not trusted"
    case .tlsHostMismatch: "TLS: the server's certificate does not name the host"
    case .tlsHandshakeFailed: "TLS handshake failed"
    case .tlsHandshakeTimeout: "TLS handshake timed out"
    }
  }

  public var description: String { shortDescription }
}
