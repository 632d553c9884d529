import Foundation
import SwitchboardCore
import SwitchboardTestKit
import Testing
@testable import SwitchboardProviders

@Suite("HTTP provider adapters against the fake provider")
struct HTTPProviderAdapterTests {
  // MARK: Success

  @Test(arguments: Wire.allCases)
  func unarySuccessWithUsageAndCachedTokens(_ wire: Wire) async throws {
    var configuration = FakeProvider.Configuration()
    configuration.cachedInputTokens = 7
    configuration.cacheWriteTokens = wire == .anthropic ? 3 : 0
    try await Support.withFake(configuration) { fake in
      let adapter = try Support.adapter(wire, fake)
      let model = Support.model(wire)
      let response = try await adapter.complete(Support.call(model), onDelta: nil)
      #expect(response.content == "fake answer from \(model)")
      #expect(response.finishReason == .stop)
      #expect(response.model == model)
      #expect(response.usage.outputTokens == 4)
      #expect(response.usage.cachedInputTokens == 7)
      let attempt = try #require(fake.attempts.first)
      let prompt = max(1, attempt.bodyText.utf8.count / 4)
      if wire == .anthropic {
        #expect(response.usage.cacheWriteTokens == 3)
        #expect(response.usage.inputTokens == prompt + 7 + 3)  // Anthropic input excludes cache tokens
      } else {
        #expect(response.usage.inputTokens == prompt + 7)
      }
      #expect(fake.attempts.count == 1)
      #expect(attempt.body["stream"] == nil)
    }
  }

  @Test(arguments: Wire.allCases)
  func streamedSuccess(_ wire: Wire) async throws {
    var configuration = FakeProvider.Configuration()
    configuration.cachedInputTokens = 5
    try await Support.withFake(configuration) { fake in
      let adapter = try Support.adapter(wire, fake)
      let model = Support.model(wire)
      let deltas = Support.Deltas()
      let response = try await adapter.complete(Support.call(model), onDelta: deltas.handler)
      #expect(deltas.text == "fake answer from \(model)")
      #expect(deltas.all.count == 4)
      #expect(response.content == deltas.text)
      #expect(response.usage.outputTokens == 4)
      #expect(response.usage.cachedInputTokens == 5)
      #expect(response.usage.inputTokens > 5)
      #expect(response.finishReason == .stop)
      let attempt = try #require(fake.attempts.first)
      #expect(attempt.body["stream"]?.bool == true)
      if wire == .openai { #expect(attempt.body["stream_options"]?["include_usage"]?.bool == true) }
    }
  }

  static let weather = ToolSpec(name: "lookup", description: "Looks things up",
                                parametersJSONSchema: #"{"type":"object","properties":{"query":{"type":"string"}}}"#)

  @Test(arguments: Wire.allCases, [false, true])
  func toolCalls(_ wire: Wire, stream: Bool) async throws {
    try await Support.withFake { fake in
      let adapter = try Support.adapter(wire, fake)
      let request = ChatRequest(messages: [ChatMessage(role: .user, content: "find it")], tools: [Self.weather],
                                toolChoice: "auto")
      let deltas = Support.Deltas()
      let response = try await adapter.complete(Support.call(Support.model(wire), request: request),
                                                onDelta: stream ? deltas.handler : nil)
      #expect(response.finishReason == .toolCalls)
      let call = try #require(response.toolCalls.first)
      #expect(call.name == "lookup")
      #expect(!call.id.isEmpty)
      let args = try JSONValue(parsing: call.argumentsJSON)
      #expect(args["query"] == "fake")
      if stream {
        let pieces = deltas.all.compactMap { d -> String? in
          if case .toolCall(let index, _, _, let arg) = d, index == 0 { return arg }
          return nil
        }
        #expect(pieces.joined() == call.argumentsJSON)
        #expect(deltas.all.contains { if case .toolCall(0, _, "lookup", _) = $0 { return true }; return false })
      }
      // The tool reached the provider in its own format.
      let body = try #require(fake.attempts.first?.body)
      if wire == .openai {
        #expect(body["tools"]?[0]?["function"]?["name"]?.string == "lookup")
        #expect(body["tools"]?[0]?["function"]?["parameters"]?["type"]?.string == "object")
        #expect(body["tool_choice"]?.string == "auto")
      } else {
        #expect(body["tools"]?[0]?["input_schema"]?["type"]?.string == "object")
        #expect(body["tool_choice"]?["type"]?.string == "auto")
      }
    }
  }

  @Test(arguments: Wire.allCases)
  func missingTerminatorAfterUsageFinalises(_ wire: Wire) async throws {
    try await Support.withFake { fake in
      fake.enqueue(.missingTerminator)
      let adapter = try Support.adapter(wire, fake)
      let model = Support.model(wire)
      let response = try await adapter.complete(Support.call(model), onDelta: Support.Deltas().handler)
      #expect(response.content == "fake answer from \(model)")
      #expect(response.usage.outputTokens == 4)
      #expect(response.usage.inputTokens > 0)
    }
  }

  // MARK: HTTP errors

  @Test(arguments: Wire.allCases)
  func rateLimitedWithRetryAfter(_ wire: Wire) async throws {
    try await Support.withFake { fake in
      fake.enqueue(.rateLimited(retryAfter: "2"))
      let adapter = try Support.adapter(wire, fake)
      let f = try #require(await Support.failure { try await adapter.complete(Support.call(Support.model(wire)), onDelta: nil) })
      #expect(f.reason == .rateLimited)
      #expect(f.httpStatus == 429)
      #expect(f.retryAfter == .seconds(2))
    }
  }

  @Test func retryAfterForms() {
    var headers = HTTPHeadersBuilder.make([("retry-after", "Wed, 21 Oct 2015 07:28:30 GMT")])
    let now = RetryAfter.parseHTTPDate("Wed, 21 Oct 2015 07:28:00 GMT")!
    #expect(RetryAfter.parse(headers, now: now) == .seconds(30))
    headers = HTTPHeadersBuilder.make([("retry-after", "1.5"), ("retry-after-ms", "250")])
    #expect(RetryAfter.parse(headers) == .milliseconds(250))
    headers = HTTPHeadersBuilder.make([("retry-after", "3")])
    #expect(RetryAfter.parse(headers) == .seconds(3))
    #expect(RetryAfter.parse(HTTPHeadersBuilder.make([("retry-after", "soon")])) == nil)
    // A lying provider: huge values are clamped (they used to trap converting to Int64).
    #expect(RetryAfter.parse(HTTPHeadersBuilder.make([("retry-after", "1e300")])) == RetryAfter.ceiling)
    #expect(RetryAfter.parse(HTTPHeadersBuilder.make([("retry-after-ms", "1e300")])) == RetryAfter.ceiling)
    #expect(RetryAfter.parse(HTTPHeadersBuilder.make([("retry-after", "Fri, 01 Jan 9999 00:00:00 GMT")])) == RetryAfter.ceiling)
  }

  static let errorCases: [(FakeFault, ReasonCode, Int)] = [
    (.status(503, body: nil, retryAfter: nil), .provider5xx, 503),
    (.unauthorized, .invalidCredentials, 401),
    (.modelNotFound, .modelNotFound, 404),
    (.contextLengthExceeded, .contextLengthExceeded, 400),
    (.contentPolicy, .contentPolicy, 400),
    (.status(529, body: #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#, retryAfter: nil), .provider5xx, 529),
  ]

  @Test(arguments: Wire.allCases, errorCases.indices)
  func httpErrorsAreClassified(_ wire: Wire, _ index: Int) async throws {
    let (fault, reason, status) = Self.errorCases[index]
    try await Support.withFake { fake in
      fake.enqueue(fault)
      let adapter = try Support.adapter(wire, fake)
      let f = try #require(await Support.failure { try await adapter.complete(Support.call(Support.model(wire)), onDelta: nil) })
      #expect(f.reason == reason, "\(fault) → \(f)")
      #expect(f.httpStatus == status)
      // The key reached the provider but never an error.
      let header = wire == .openai ? fake.attempts[0].header("authorization") : fake.attempts[0].header("x-api-key")
      #expect(header?.contains(Support.key.reveal()) == true)
      #expect(!f.description.contains(Support.key.reveal()))
      #expect(!f.message.contains(Support.key.reveal()))
      #expect(!String(reflecting: f).contains(Support.key.reveal()))
    }
  }

  @Test(arguments: Wire.allCases)
  func unauthorizedMessageIsRedacted(_ wire: Wire) async throws {
    try await Support.withFake { fake in
      fake.enqueue(.unauthorized)
      let adapter = try Support.adapter(wire, fake)
      let f = try #require(await Support.failure { try await adapter.complete(Support.call(Support.model(wire)), onDelta: nil) })
      #expect(f.reason == .invalidCredentials)
      #expect(f.message.contains(Support.key.fingerprint))  // the fake echoed the key; it was replaced
      #expect(!f.description.contains("THE-SECRET-KEY"))
    }
  }

  @Test(arguments: Wire.allCases)
  func undecodable200IsInvalidResponse(_ wire: Wire) async throws {
    try await Support.withFake { fake in
      fake.enqueue(.status(200, body: "<html>gateway</html>", retryAfter: nil))
      let adapter = try Support.adapter(wire, fake)
      let f = try #require(await Support.failure { try await adapter.complete(Support.call(Support.model(wire)), onDelta: nil) })
      #expect(f.reason == .invalidResponse)
    }
  }

  // MARK: Connection and timing faults

  @Test(arguments: Wire.allCases, [false, true])
  func hangIsASilentTimeout(_ wire: Wire, overall: Bool) async throws {
    try await Support.withFake { fake in
      fake.enqueue(.hang)
      let adapter = try Support.adapter(wire, fake)
      let started = ContinuousClock.now
      let f = try #require(await Support.failure {
        try await adapter.complete(Support.call(Support.model(wire), total: .seconds(1), overall: overall), onDelta: nil)
      })
      let elapsed = ContinuousClock.now - started
      #expect(f.reason == (overall ? .deadlineExceeded : .timeout))
      #expect(f.silent)
      #expect(!f.afterHeaders)
      // The fake never answers: without the deadline the call would not end. 1 s (not
      // 200 ms) so connecting fits inside it on a loaded machine; the upper bound has room.
      #expect(elapsed >= .milliseconds(990) && elapsed < .seconds(10))
    }
  }

  @Test(arguments: Wire.allCases)
  func resetBeforeHeaders(_ wire: Wire) async throws {
    try await Support.withFake { fake in
      fake.enqueue(.resetBeforeHeaders)
      let adapter = try Support.adapter(wire, fake)
      let f = try #require(await Support.failure { try await adapter.complete(Support.call(Support.model(wire)), onDelta: nil) })
      #expect(f.reason == .connectionReset)
      #expect(!f.afterHeaders)
      #expect(fake.attempts.count == 1)
    }
  }

  @Test(arguments: Wire.allCases)
  func slowFirstToken(_ wire: Wire) async throws {
    try await Support.withFake { fake in
      // Content after 60 s, the attempt deadline at 40 s: only the 2 s limit ends it
      // as a first-token timeout (a broken one gives content, or the deadline's timeout).
      // 2 s, not 200 ms: with both cores busy the head itself arrived after 200 ms.
      fake.enqueue(.slowFirstToken(milliseconds: 60_000))
      let adapter = try Support.adapter(wire, fake)
      let started = ContinuousClock.now
      let f = try #require(await Support.failure {
        try await adapter.complete(Support.call(Support.model(wire), firstToken: .seconds(2), total: .seconds(40)),
                                   onDelta: Support.Deltas().handler)
      })
      #expect(f.reason == .firstTokenTimeout)
      #expect(f.afterHeaders)  // the head and the events without content came at once, content did not
      // Well below the deadline, with room for a loaded machine (a full parallel run on two
      // busy cores took 10.6 s against a former 6 s bound).
      #expect(ContinuousClock.now - started < .seconds(30))
    }
  }

  @Test(arguments: Wire.allCases)
  func streamCut(_ wire: Wire) async throws {
    try await Support.withFake { fake in
      fake.enqueue(.streamCut(afterChunks: wire == .anthropic ? 4 : 3))  // after the first text delta
      let adapter = try Support.adapter(wire, fake)
      let deltas = Support.Deltas()
      let f = try #require(await Support.failure {
        // Limits far beyond the cut: only its classification is under test (a full
        // parallel run once delivered a cut after the 5 s idle limit had passed).
        try await adapter.complete(Support.call(Support.model(wire), idle: .seconds(60), total: .seconds(120)), onDelta: deltas.handler)
      })
      #expect(f.reason == .streamCut)
      #expect(f.afterHeaders)
      #expect(!deltas.text.isEmpty)
    }
  }

  @Test(arguments: Wire.allCases)
  func stall(_ wire: Wire) async throws {
    try await Support.withFake { fake in
      // After the first content delta (Anthropic's first three events carry none: a
      // stall there is a first-token timeout).
      fake.enqueue(.stall(afterChunks: wire == .anthropic ? 4 : 3))
      let adapter = try Support.adapter(wire, fake)
      let started = ContinuousClock.now
      let f = try #require(await Support.failure {
        try await adapter.complete(Support.call(Support.model(wire), idle: .milliseconds(200), total: .seconds(20)),
                                   onDelta: Support.Deltas().handler)
      })
      // A broken idle limit would run to the 20 s attempt deadline (a timeout, not a stall).
      #expect(f.reason == .streamStalled)
      #expect(f.afterHeaders)
      #expect(ContinuousClock.now - started < .seconds(15))
    }
  }

  @Test(arguments: Wire.allCases)
  func malformedChunk(_ wire: Wire) async throws {
    try await Support.withFake { fake in
      fake.enqueue(.malformedChunk(afterChunks: 2))
      let adapter = try Support.adapter(wire, fake)
      let deltas = Support.Deltas()
      let f = try #require(await Support.failure {
        try await adapter.complete(Support.call(Support.model(wire)), onDelta: deltas.handler)
      })
      #expect(f.reason == .invalidResponse)
      #expect(!deltas.text.contains("oops"))
    }
  }

  @Test(arguments: Wire.allCases)
  func inStreamErrorIsProvider5xx(_ wire: Wire) async throws {
    try await Support.withFake { fake in
      fake.enqueue(.streamError(afterChunks: 3))
      let adapter = try Support.adapter(wire, fake)
      let f = try #require(await Support.failure {
        try await adapter.complete(Support.call(Support.model(wire)), onDelta: Support.Deltas().handler)
      })
      #expect(f.reason == .provider5xx)
      #expect(f.afterHeaders)
    }
  }

  @Test(arguments: Wire.allCases)
  func connectionRefused(_ wire: Wire) async throws {
    let fake = FakeProvider()
    let closed = try ClosedPort()  // bound, never listening: refused every time
    let adapter = try Support.adapter(wire, fake, baseURL: closed.baseURL)
    let f = try #require(await Support.failure { try await adapter.complete(Support.call(Support.model(wire)), onDelta: nil) })
    withExtendedLifetime(closed) {}
    #expect(f.reason == .connectFailed)
    #expect(!f.afterHeaders)
  }

  @Test func keepAliveReusesConnectionsAcrossAttempts() async throws {
    try await Support.withFake { fake in
      let adapter = try Support.adapter(.openai, fake)
      for _ in 0..<5 { _ = try await adapter.complete(Support.call("gpt-4o-mini"), onDelta: Support.Deltas().handler) }
      #expect(fake.attempts.count == 5)
    }
  }

  // MARK: Prefill

  @Test(arguments: Wire.allCases)
  func prefillIsATrailingAssistantMessageAndRejectionIsClassified(_ wire: Wire) async throws {
    try await Support.withFake { fake in
      let adapter = try Support.adapter(wire, fake)
      _ = try await adapter.complete(Support.call(Support.model(wire), prefill: "Once upon"), onDelta: nil)
      let messages = try #require(fake.attempts[0].body["messages"]?.array)
      #expect(messages.last?["role"]?.string == "assistant")
      #expect(messages.last?["content"]?.string == "Once upon")

      fake.enqueue(.rejectPrefill)
      let f = try #require(await Support.failure {
        try await adapter.complete(Support.call(Support.model(wire), prefill: "Once upon"), onDelta: nil)
      })
      #expect(f.reason == .prefillRejected)
      #expect(f.httpStatus == 400)
    }
  }
}

import NIOHTTP1

enum HTTPHeadersBuilder {
  static func make(_ pairs: [(String, String)]) -> HTTPHeaders { HTTPHeaders(pairs) }
}
