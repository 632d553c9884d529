import Foundation
import SwitchboardCore
import SwitchboardTestKit
import Testing
@testable import SwitchboardProviders

/// One meaning per limit, against a real HTTP server (the fake provider):
/// unary = connect + attempt deadline; streamed first token = first content or
/// tool-call delta; idle = gap between content events, keep-alives excluded
/// (they stretch it only up to the keep-alive ceiling).
@Suite("Attempt limits: one meaning each")
struct TimeoutSemanticsTests {
  /// The fake's event index after the first text delta.
  static func afterFirstContent(_ wire: Wire) -> Int { wire == .anthropic ? 4 : 2 }

  @Test(arguments: Wire.allCases)
  func aLongUnaryGenerationIsNotCutByTheFirstTokenLimit(_ wire: Wire) async throws {
    try await Support.withFake { fake in
      // The head comes only when the 700 ms generation is done, 3.5x the first-token limit.
      fake.enqueue(.slowFirstToken(milliseconds: 700))
      let adapter = try Support.adapter(wire, fake)
      let response = try await adapter.complete(
        Support.call(Support.model(wire), firstToken: .milliseconds(200), total: .seconds(20)), onDelta: nil)
      #expect(response.content == "fake answer from \(Support.model(wire))")
    }
  }

  @Test(arguments: Wire.allCases)
  func aHungUnaryCallEndsAtTheAttemptDeadlineAsATimeout(_ wire: Wire) async throws {
    try await Support.withFake { fake in
      fake.enqueue(.hang)
      let adapter = try Support.adapter(wire, fake)
      let started = ContinuousClock.now
      let f = try #require(await Support.failure {
        try await adapter.complete(Support.call(Support.model(wire), firstToken: .milliseconds(100), total: .milliseconds(1_500)),
                                   onDelta: nil)
      })
      // (1.5 s rather than 600 ms: the deadline covers connecting too, real I/O on a loaded machine.)
      #expect(f.reason == .timeout, "bounded by attempt_ms, not first_token_ms")
      #expect(ContinuousClock.now - started >= .milliseconds(1_490))
    }
  }

  @Test(arguments: Wire.allCases)
  func eventsWithoutContentAreNotTheFirstToken(_ wire: Wire) async throws {
    // message_start / the role chunk and keep-alives arrive at once; content only after 10 s.
    var configuration = FakeProvider.Configuration()
    configuration.keepAliveInterval = .milliseconds(40)
    try await Support.withFake(configuration) { fake in
      fake.enqueue(.slowFirstToken(milliseconds: 10_000))
      let adapter = try Support.adapter(wire, fake)
      let f = try #require(await Support.failure {
        try await adapter.complete(Support.call(Support.model(wire), firstToken: .milliseconds(300), total: .seconds(20)),
                                   onDelta: Support.Deltas().handler)
      })
      #expect(f.reason == .firstTokenTimeout)
    }
  }

  @Test(arguments: Wire.allCases)
  func keepAlivesDoNotRestartTheIdleLimit(_ wire: Wire) async throws {
    var configuration = FakeProvider.Configuration()
    configuration.keepAliveInterval = .milliseconds(40)
    try await Support.withFake(configuration) { fake in
      fake.enqueue(.keepAlivesOnly(afterChunks: Self.afterFirstContent(wire)))
      let adapter = try Support.adapter(wire, fake)
      let deltas = Support.Deltas()
      let started = ContinuousClock.now
      let f = try #require(await Support.failure {
        try await adapter.complete(Support.call(Support.model(wire), idle: .milliseconds(300), total: .seconds(20)),
                                   onDelta: deltas.handler)
      })
      // Were the pings restarting the idle limit, the stream would run to the 20 s attempt
      // deadline and end as a timeout; the bound leaves room for a loaded machine.
      #expect(f.reason == .streamStalled, "pings every 40 ms must not keep a content-less stream alive")
      #expect(!deltas.text.isEmpty)
      #expect(ContinuousClock.now - started < .seconds(15))
    }
  }

  @Test(arguments: Wire.allCases)
  func keepAlivesStretchTheContentGapUpToTheirCeilingOnly(_ wire: Wire) async throws {
    var configuration = FakeProvider.Configuration()
    configuration.keepAliveInterval = .milliseconds(40)
    try await Support.withFake(configuration) { fake in
      fake.enqueue(.keepAlivesOnly(afterChunks: Self.afterFirstContent(wire)))
      let adapter = try Support.adapter(wire, fake)
      let started = ContinuousClock.now
      let f = try #require(await Support.failure {
        try await adapter.complete(Support.call(Support.model(wire), idle: .milliseconds(1_500),
                                                keepAliveCeiling: .milliseconds(4_000), total: .seconds(20)),
                                   onDelta: Support.Deltas().handler)
      })
      // Without the ceiling the pings would hold the stream to the 20 s attempt deadline
      // (a timeout, not a stall).
      #expect(f.reason == .streamStalled)
      let elapsed = ContinuousClock.now - started
      // Without the stretch the stall fires 1.5 s after the first content. With it, only a
      // keep-alive gap over 1.5 s (pings are sent every 40 ms) ends the stream before the
      // 4 s ceiling. (A 200 ms limit stalled at 420 ms on a loaded CI machine, and a
      // 500 ms one is still within reach of a starved event loop.)
      #expect(elapsed >= .milliseconds(2_500), "keep-alives stretched the 1.5 s idle limit towards the 4 s ceiling")
      #expect(elapsed < .seconds(15))

      // A slow first content with keep-alives before it succeeds when within first_token_ms,
      // and the idle limit (shorter than the wait) does not apply before the first content.
      // The rest of the answer follows at once: 1 s of idle is room for a loaded machine.
      fake.enqueue(.slowFirstToken(milliseconds: 1_500))
      let deltas = Support.Deltas()
      _ = try await adapter.complete(Support.call(Support.model(wire), firstToken: .seconds(10), idle: .seconds(1), total: .seconds(20)),
                                     onDelta: deltas.handler)
      #expect(deltas.text == "fake answer from \(Support.model(wire))")
    }
  }
}
