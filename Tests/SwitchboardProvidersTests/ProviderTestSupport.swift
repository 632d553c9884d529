import AsyncHTTPClient
import Foundation
import SwitchboardCore
import SwitchboardTestKit
@testable import SwitchboardProviders

/// The wire formats under test.
enum Wire: String, CaseIterable, Sendable, CustomStringConvertible {
  case openai, anthropic
  var description: String { rawValue }
}

enum Support {
  /// One client for every test, as the daemon shares one.
  static let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                 configuration: HTTPProviderAdapterDefaults.clientConfiguration())
  /// The lean client the daemon uses for `http://` providers, so the adapter suites
  /// run over it; `SWITCHBOARD_TEST_PROVIDER_HTTP_CLIENT=asynchttpclient` runs them
  /// over AsyncHTTPClient instead (the path `https://` providers take).
  static let lean: LeanHTTPClient? =
    ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_PROVIDER_HTTP_CLIENT"]?.lowercased() == "asynchttpclient"
      ? nil : LeanHTTPClient(configuration: .init(maxConnectionsPerHost: 8))
  static let key = Secret("sk-test-THE-SECRET-KEY-0123456789")

  static func withFake<T>(_ configuration: FakeProvider.Configuration = .init(),
                          _ body: (FakeProvider) async throws -> T) async throws -> T {
    let fake = FakeProvider(configuration: configuration)
    try await fake.start()
    do {
      let result = try await body(fake)
      try await fake.shutdown()
      return result
    } catch {
      try? await fake.shutdown()
      throw error
    }
  }

  static func adapter(_ wire: Wire, _ fake: FakeProvider, preset: String? = nil, baseURL: String? = nil,
                      apiVersion: String? = nil) throws -> any ProviderAdapter {
    let settings = HTTPProviderSettings(preset: wire == .openai ? (preset ?? "openai") : nil,
                                        baseURL: baseURL ?? fake.baseURL, apiVersion: apiVersion)
    return try ProviderFactory.make(name: "test-\(wire)", kind: wire.rawValue, settings: settings, httpClient: client,
                                    leanClient: lean)
  }

  static func model(_ wire: Wire) -> String { wire == .openai ? "gpt-4o-mini" : "claude-3-5-haiku-latest" }

  static func call(_ model: String, request: ChatRequest = ChatRequest(messages: [ChatMessage(role: .user, content: "hello")]),
                   key: Secret? = Support.key, prefill: String? = nil, connect: Duration = .seconds(5),
                   firstToken: Duration = .seconds(5), idle: Duration = .seconds(5), keepAliveCeiling: Duration? = nil,
                   total: Duration = .seconds(10), overall: Bool = false) -> ProviderCall {
    let clock = SystemClock()
    let limits = AttemptLimits(connect: connect, firstToken: firstToken, idle: idle, keepAliveCeiling: keepAliveCeiling,
                               deadline: clock.now().advanced(by: total), deadlineIsOverall: overall)
    return ProviderCall(request: request, model: model, apiKey: key, prefill: prefill, limits: limits, clock: clock,
                        attempt: 1, requestID: "req-1")
  }

  /// Collects streamed deltas.
  final class Deltas: Sendable {
    private let box = Mutex<[StreamDelta]>([])
    var all: [StreamDelta] { box.withLock { $0 } }
    var text: String {
      all.compactMap { if case .text(let t) = $0 { return t }; return nil }.joined()
    }
    var handler: DeltaHandler { { d in self.box.withLock { $0.append(d) } } }
  }

  /// Runs `body`, expecting a `ProviderFailure`.
  static func failure(_ body: () async throws -> ProviderResponse) async -> ProviderFailure? {
    do {
      _ = try await body()
      return nil
    } catch let f as ProviderFailure {
      return f
    } catch {
      return ProviderFailure(.cancelled, message: "unexpected error \(error)")
    }
  }
}

import Synchronization
