import NIOSSL

/// How a provider's `https://` connections are verified: the system's trust roots,
/// plus (optionally) extra CA certificates trusted for this provider only — a
/// private gateway or a self-hosted server behind an internal CA. TLS 1.2 or later,
/// full certificate and host-name verification, HTTP/1.1 by ALPN. Build it once per
/// provider (loading the roots costs milliseconds); the lean client pools
/// connections per `ProviderTLS`.
public struct ProviderTLS: Sendable {
  /// What the AsyncHTTPClient fallback uses for the same provider.
  public let configuration: TLSConfiguration
  let context: LeanTLSContext

  /// Trusts the system roots and the certificates in `extraCAPEM` (PEM, one or more).
  /// Throws `ProviderConfigurationError` (`.invalidCA`) when the PEM holds no
  /// certificate; the message never quotes the PEM.
  public init(extraCAPEM: String? = nil, provider: String) throws {
    var configuration = TLSConfiguration.makeClientConfiguration()
    configuration.minimumTLSVersion = .tlsv12
    configuration.certificateVerification = .fullVerification
    configuration.applicationProtocols = ["http/1.1"]
    if let extraCAPEM {
      let certificates = (try? NIOSSLCertificate.fromPEMBytes(Array(extraCAPEM.utf8))) ?? []
      guard !certificates.isEmpty else {
        throw ProviderConfigurationError(.invalidCA, "providers.\(provider).ca_file: no PEM certificate in the file")
      }
      configuration.additionalTrustRoots = [.certificates(certificates)]
    }
    do {
      self.context = LeanTLSContext(context: try NIOSSLContext(configuration: configuration))
    } catch {
      throw ProviderConfigurationError(.invalidCA, "providers.\(provider).ca_file: the TLS context could not be built")
    }
    self.configuration = configuration
  }

  /// Whether extra CA certificates are trusted (else only the system roots).
  public var hasExtraRoots: Bool { !configuration.additionalTrustRoots.isEmpty }
}
