import AsyncHTTPClient
import Foundation
import NIOCore
import SwitchboardCore
import SwitchboardTestKit
import Testing
@testable import SwitchboardProviders

/// HTTPS to a provider: the fake provider serves TLS with certificates from a test CA
/// (`TestCertificates`), and the adapter reaches it over the lean client (and over
/// AsyncHTTPClient, the escape hatch) with full verification. A TLS failure must be a
/// connect failure that reached nothing and quotes nothing from the certificate.
@Suite("Provider TLS")
struct ProviderTLSTests {
  static func fakeConfiguration(wrongHost: Bool = false) -> FakeProvider.Configuration {
    var c = FakeProvider.Configuration()
    c.tls = wrongHost ? (TestCertificates.wrongHostPEM, TestCertificates.wrongHostKeyPEM)
                      : (TestCertificates.serverPEM, TestCertificates.serverKeyPEM)
    return c
  }

  static func adapter(_ wire: Wire, baseURL: String, trustTestCA: Bool, lean: LeanHTTPClient?) throws -> any ProviderAdapter {
    let settings = HTTPProviderSettings(preset: wire == .openai ? "custom" : nil, baseURL: baseURL,
                                        extraCAPEM: trustTestCA ? TestCertificates.caPEM : nil)
    return try ProviderFactory.make(name: "tls-\(wire)", kind: wire.rawValue, settings: settings, httpClient: Support.client,
                                    leanClient: lean)
  }

  @Test(arguments: Wire.allCases)
  func unaryAndStreamOverVerifiedTLSReuseOneHandshake(_ wire: Wire) async throws {
    let lean = LeanHTTPClient(configuration: .init(maxConnectionsPerHost: 4))
    defer { Task { await lean.shutdown() } }
    try await Support.withFake(Self.fakeConfiguration()) { fake in
      #expect(fake.baseURL.hasPrefix("https://127.0.0.1:"))
      let adapter = try Self.adapter(wire, baseURL: fake.baseURL, trustTestCA: true, lean: lean)
      for _ in 0..<3 {
        let r = try await adapter.complete(Support.call(Support.model(wire)), onDelta: nil)
        #expect(r.content == "fake answer from \(Support.model(wire))")
      }
      let deltas = Support.Deltas()
      _ = try await adapter.complete(Support.call(Support.model(wire)), onDelta: deltas.handler)
      #expect(deltas.text == "fake answer from \(Support.model(wire))")
      #expect(fake.attempts.count == 4)
      #expect(fake.handshakes == 1, "sequential calls share one kept-alive TLS connection")
      #expect(lean.openConnections(host: "127.0.0.1", port: fake.port) == 1, "one kept-alive TLS connection")
    }
  }

  @Test func aHostNameIsVerifiedAndSentAsSNI() async throws {
    let lean = LeanHTTPClient()
    defer { Task { await lean.shutdown() } }
    try await Support.withFake(Self.fakeConfiguration()) { fake in
      let adapter = try Self.adapter(.openai, baseURL: "https://localhost:\(fake.port)/v1", trustTestCA: true, lean: lean)
      let r = try await adapter.complete(Support.call(Support.model(.openai)), onDelta: nil)
      #expect(r.content.hasPrefix("fake answer"))
    }
  }

  @Test(arguments: [true, false])
  func anUntrustedCertificateIsAConnectFailureThatReachedNothing(useLean: Bool) async throws {
    let lean = useLean ? LeanHTTPClient() : nil
    defer { if let lean { Task { await lean.shutdown() } } }
    try await Support.withFake(Self.fakeConfiguration()) { fake in
      // Only the system roots: the test CA is not among them.
      let adapter = try Self.adapter(.openai, baseURL: fake.baseURL, trustTestCA: false, lean: lean)
      let f = try #require(await Support.failure { try await adapter.complete(Support.call(Support.model(.openai)), onDelta: nil) })
      #expect(f.reason == .connectFailed, "\(f.message)")
      #expect(fake.attempts.isEmpty, "no request may be written on an unverified connection")
      if useLean {
        #expect(f.message == "could not connect: TLS: the server's certificate is not trusted")
      }
      #expect(!f.message.contains("fake-provider"), "the message quotes nothing from the certificate")
    }
  }

  @Test func aCertificateForAnotherHostIsRefused() async throws {
    let lean = LeanHTTPClient()
    defer { Task { await lean.shutdown() } }
    try await Support.withFake(Self.fakeConfiguration(wrongHost: true)) { fake in
      let adapter = try Self.adapter(.openai, baseURL: fake.baseURL, trustTestCA: true, lean: lean)
      let f = try #require(await Support.failure { try await adapter.complete(Support.call(Support.model(.openai)), onDelta: nil) })
      #expect(f.reason == .connectFailed)
      #expect(f.message == "could not connect: TLS: the server's certificate does not name the host")
      #expect(!f.message.contains("other.example"))
      #expect(fake.attempts.isEmpty)
    }
  }

  @Test func theAsyncHTTPClientEscapeHatchTrustsTheProvidersCAToo() async throws {
    try await Support.withFake(Self.fakeConfiguration()) { fake in
      let adapter = try Self.adapter(.anthropic, baseURL: fake.baseURL, trustTestCA: true, lean: nil)
      let r = try await adapter.complete(Support.call(Support.model(.anthropic)), onDelta: nil)
      #expect(r.content == "fake answer from \(Support.model(.anthropic))")
    }
  }

  @Test func aSilentServerEndsTheHandshakeAtTheLimitAndFreesItsSlot() async throws {
    let lean = LeanHTTPClient(configuration: .init(maxConnectionsPerHost: 1, connectTimeout: .milliseconds(300)))
    defer { Task { await lean.shutdown() } }
    // The scripted server reads the ClientHello as a request that never completes.
    try await ScriptedHTTPServer.with({ _, _ in .close }) { server in
      let url = server.baseURL.replacingOccurrences(of: "http://", with: "https://") + "/chat/completions"
      var target = try #require(LeanHTTPTarget(url))
      target.tls = lean.defaultTLSContext
      let recorder = LeanHTTPClientTests.Recorder()
      _ = lean.post(target, headers: ["content-type": "application/json"], body: ByteBuffer(string: "{}"),
                    onEvent: recorder.sink)
      #expect(await recorder.all() == ["failed: TLS handshake timed out"])
      try await LeanHTTPClientTests.eventually { lean.openConnections(host: "127.0.0.1", port: server.port) == 0 }
      #expect(lean.openConnections(host: "127.0.0.1", port: server.port) == 0)
    }
  }

  @Test func aCAFileWithoutACertificateIsAConfigErrorThatQuotesNothing() throws {
    let secretish = "not a certificate: sk-should-not-be-echoed"
    let error = #expect(throws: ProviderConfigurationError.self) {
      _ = try ProviderTLS(extraCAPEM: secretish, provider: "private")
    }
    #expect(error?.code == .invalidCA)
    #expect(error?.message == "providers.private.ca_file: no PEM certificate in the file")
  }

  @Test func httpsURLsParseWithTheirDefaultPort() throws {
    let t = try #require(LeanHTTPTarget("HTTPS://api.example.com/v1/chat/completions"))
    #expect(t.isHTTPS && t.port == 443 && t.host == "api.example.com" && t.path == "/v1/chat/completions")
    let p = try #require(LeanHTTPTarget("http://[::1]:8080/x"))
    #expect(!p.isHTTPS && p.port == 8080 && p.host == "::1")
    #expect(LeanHTTPTarget("ftp://example.com/") == nil)
    #expect(LeanHTTPTarget("https://") == nil)
  }
}
