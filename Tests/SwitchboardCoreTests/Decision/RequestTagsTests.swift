import Foundation
import Testing

@testable import SwitchboardCore

@Suite("Tags: bounds, stored in the decision event")
struct RequestTagsTests {
  static let secretish = "sk-live-DO-NOT-ECHO"

  @Test(arguments: [
    ([String: String](), nil),
    (["team": "payments", "ticket": "INC-42", "note": "free text, with spaces and é"], nil),
    (["k": ""], nil),
    (["": "x"], "a tag key is empty"),
    ([String(repeating: "k", count: 65): "x"], "a tag key is 65 bytes (at most 64)"),
    ([String(repeating: "k", count: 64): "x"], nil),
    (["has space": "x"], "printable ASCII"),
    (["a=b": "x"], "printable ASCII"),
    (["tab\t": "x"], "printable ASCII"),
    (["é": "x"], "printable ASCII"),
    (["k": String(repeating: "v", count: 257)], "a tag value is 257 bytes (at most 256)"),
    (["k": String(repeating: "é", count: 129)], "a tag value is 258 bytes (at most 256)"),
    (["k": String(repeating: "v", count: 256)], nil),
    (["k": "line\nbreak"], "control character"),
    (["k": "nul\u{0}"], "control character"),
    (["k": "c1\u{85}"], "control character"),
  ] as [([String: String], String?)])
  func bounds(tags: [String: String], problem: String?) {
    let got = RequestTags.problem(tags)
    if let problem {
      #expect(got?.contains(problem) == true, "\(got ?? "nil")")
    } else {
      #expect(got == nil, "\(got ?? "")")
    }
  }

  @Test func tooManyTagsNamesTheLimit() {
    var tags: [String: String] = [:]
    for i in 0..<17 { tags["k\(i)"] = "v" }
    #expect(RequestTags.problem(tags) == "too many tags: 17 (at most 16)")
    tags["k16"] = nil
    #expect(RequestTags.problem(tags) == nil)
  }

  @Test func theMessageNeverEchoesTheKeyOrValue() {
    let cases: [[String: String]] = [
      [Self.secretish + String(repeating: "x", count: 64): "v"],
      ["k": Self.secretish + String(repeating: "x", count: 300)],
      ["k": Self.secretish + "\n"],
      [Self.secretish + " ": "v"],
    ]
    for tags in cases {
      let p = RequestTags.problem(tags)
      #expect(p != nil && p?.contains("sk-live") == false, "\(p ?? "")")
    }
  }

  @Test func tagsAreRecordedInTheDecision() async throws {
    let world = TestWorld(routes: [Fixture.route()], adapters: [ScriptedAdapter("a"), ScriptedAdapter("b"), ScriptedAdapter("c")])
    var req = Fixture.request()
    req.tags = ["team": "payments", "ticket": "INC-42"]
    let o = try await world.complete(req)
    #expect(o.value != nil)
    #expect(o.event.tags == ["team": "payments", "ticket": "INC-42"])
    #expect(world.audit.event(o.event.requestID)?.tags == ["team": "payments", "ticket": "INC-42"])
    // No tags: the field stays unset (omitted from the JSON shape).
    let plain = try await world.complete(Fixture.request())
    #expect(plain.event.tags == nil)
  }

  @Test func overTheBoundsIsRefusedAndNothingOfItIsStored() async throws {
    let a = ScriptedAdapter("a")
    let world = TestWorld(routes: [Fixture.route()], adapters: [a, ScriptedAdapter("b"), ScriptedAdapter("c")])
    var req = Fixture.request()
    req.tags = ["k": Self.secretish + String(repeating: "x", count: 300)]
    let o = try await world.complete(req)
    #expect(o.error?.code == .invalidArgument)
    #expect(o.error?.reason == RequestTags.reason)
    #expect(o.error?.message.contains("at most 256") == true)
    #expect(o.error?.message.contains("sk-live") == false)
    #expect(a.calls.isEmpty, "refused before any provider call")
    let recorded = try #require(world.audit.event(o.event.requestID))
    #expect(recorded.tags == nil)
    #expect(recorded.outcome == .failed && recorded.reason == RequestTags.reason)
  }
}

@Suite("Which timeout fired")
struct FiredTimeoutTests {
  static var timeouts: TimeoutPolicy {
    var t = TimeoutPolicy()
    t.connect = .milliseconds(500); t.firstToken = .milliseconds(1500); t.idle = .milliseconds(1000); t.attempt = .milliseconds(3000)
    return t
  }

  @Test(arguments: [
    (failure(.firstTokenTimeout, status: 200, afterHeaders: true), "first_token_ms", 1500),
    (failure(.streamStalled, status: 200, afterHeaders: true), "idle_ms", 1000),
    (failure(.timeout, silent: true), "attempt_ms", 3000),
    (failure(.deadlineExceeded, silent: true), "deadline_ms", 9000),
    (failure(.connectFailed, silent: true), "connect_ms", 500),
  ] as [(ProviderFailure, String, Int64)])
  func ours(f: ProviderFailure, name: String, limitMs: Int64) {
    let fired = Self.timeouts.fired(by: f, overallDeadline: .milliseconds(9000))
    #expect(fired == FiredTimeout(name: name, limit: .milliseconds(limitMs)))
  }

  @Test(arguments: [
    failure(.timeout, status: 408),          // the provider's own timeout answer
    failure(.connectFailed),                 // refused, not timed out
    failure(.provider5xx, status: 503),
    failure(.rateLimited, status: 429),
    failure(.streamCut, afterHeaders: true),
  ])
  func notOurs(f: ProviderFailure) {
    #expect(Self.timeouts.fired(by: f, overallDeadline: .seconds(9)) == nil)
  }

  @Test func theExecutorRecordsAttemptVersusFirstTokenOnTheVirtualClock() async throws {
    // a hangs until the attempt deadline; b's first token never comes; c answers.
    let a = ScriptedAdapter("a", script: [.hang])
    let b = ScriptedAdapter("b", script: [.fail(failure(.firstTokenTimeout, status: 200, afterHeaders: true), after: .milliseconds(1500))])
    var route = Fixture.route()
    route.timeouts.firstToken = .milliseconds(1500)
    let world = TestWorld(routes: [route], adapters: [a, b, ScriptedAdapter("c")])
    let o = try await world.complete(Fixture.request(stream: true))
    #expect(o.value?.served == Fixture.c)
    #expect(o.tried.count == 3)
    #expect(o.tried[0].timeoutFired == "attempt_ms" && o.tried[0].timeoutLimitMs == 2000 && o.tried[0].latencyMs == 2000)
    #expect(o.tried[1].timeoutFired == "first_token_ms" && o.tried[1].timeoutLimitMs == 1500)
    #expect(o.tried[2].timeoutFired == nil)
  }

  @Test func theDecisionCarriesTheCapsThatApplied() async throws {
    var route = Fixture.route()
    route.constraints.maxCostUSD = 0.5
    route.constraints.latencySLA = .milliseconds(800)
    let world = TestWorld(routes: [route], adapters: [ScriptedAdapter("a"), ScriptedAdapter("b"), ScriptedAdapter("c")])
    var req = Fixture.request()
    req.constraints.maxCostUSD = 0.25  // the tighter one applies
    let o = try await world.complete(req)
    #expect(o.event.costCapUSD == 0.25)
    #expect(o.event.latencySLAMs == 800)
  }
}

@Suite("Decision summary: skips and ratio")
struct DecisionSummaryTests {
  @Test func aSkippedAttemptIsNotABareAttemptCount() async throws {
    // a needs a key and has none: skipped (missing_key), b serves.
    let a = ScriptedAdapter("a", requiresKey: true)
    let world = TestWorld(routes: [Fixture.route()], adapters: [a, ScriptedAdapter("b"), ScriptedAdapter("c")])
    let o = try await world.complete(Fixture.request())
    #expect(o.event.attemptsMade == 1 && o.event.attemptsSkipped == 1)
    #expect(o.event.summary.contains("attempts=1 skipped=1 skips=missing_key"), "\(o.event.summary)")
  }

  @Test func costRatioToBaseline() async throws {
    let world = TestWorld(routes: [Fixture.route()], adapters: [ScriptedAdapter("a", script: [.fail(failure(.connectFailed))]),
                                                               ScriptedAdapter("b"), ScriptedAdapter("c")])
    let o = try await world.complete(Fixture.request())
    // b costs twice a's prices for the same usage.
    #expect(o.event.costRatioToBaseline.map { abs($0 - 2) < 1e-9 } == true, "\(String(describing: o.event.costRatioToBaseline))")
  }
}
