import Testing

@testable import SwitchboardCore

/// Streams for clients that cannot discard a partial answer (the OpenAI HTTP
/// endpoint sets `streamRestartAllowed = false`): a stream failure after the
/// first chunk never produces a `StreamRestart` nor a spliced answer.
@Suite("Streams without restart (OpenAI clients)")
struct NoRestartStreamingTests {
  func world(_ policy: StreamFailurePolicy, b: ScriptedAdapter, bPrefill: Bool, c: ScriptedAdapter = ScriptedAdapter("c"),
             cPrefill: Bool = false) -> TestWorld {
    var route = Fixture.route()
    route.onStreamFailure = policy
    let catalog = ModelCatalog(instanceEntries: [
      Fixture.a: Fixture.info(caps: [.streaming, .prefill]),
      Fixture.b: Fixture.info(caps: bPrefill ? [.streaming, .prefill] : [.streaming]),
      Fixture.c: Fixture.info(caps: cPrefill ? [.streaming, .prefill] : [.streaming]),
    ])
    return TestWorld(routes: [route], adapters: [ScriptedAdapter("a", script: [.cut(delivered: 2)]), b, c], catalog: catalog)
  }

  func request() -> ChatRequest {
    var r = Fixture.request(stream: true)
    r.streamRestartAllowed = false
    return r
  }

  @Test(arguments: [StreamFailurePolicy.restart, .continue])
  func restartBecomesContinueWhereTheNextCandidateCanPrefill(policy: StreamFailurePolicy) async throws {
    let sink = CollectingSink()
    let b = ScriptedAdapter("b", script: [.ok("and the rest")])
    let w = world(policy, b: b, bPrefill: true)
    let o = try await w.complete(request(), sink: sink.sink)
    let r = try #require(o.value)
    #expect(sink.restarts.isEmpty, "no StreamRestart may reach a client that cannot discard")
    #expect(b.calls.first?.prefill == "part0 part1")
    #expect(r.response.content == "part0 part1 and the rest")
    #expect(sink.held == r.response.content, "what the client holds is exactly the final answer")
    #expect(sink.all.allSatisfy { if case .delta = $0 { true } else { false } })
  }

  @Test(arguments: [StreamFailurePolicy.restart, .continue])
  func withoutPrefillTheStreamEndsWithAnErrorNotASplice(policy: StreamFailurePolicy) async throws {
    let sink = CollectingSink()
    let b = ScriptedAdapter("b", script: [.ok("a different answer")])
    let w = world(policy, b: b, bPrefill: false)
    let o = try await w.complete(request(), sink: sink.sink)
    #expect(o.value == nil)
    let e = try #require(o.error)
    #expect(e.reason == .streamCut)
    #expect(e.code == .unavailable)
    #expect(b.calls.isEmpty, "the candidate that would have restarted is never called")
    #expect(sink.restarts.isEmpty)
    #expect(sink.held == "part0 part1", "the client saw the partial answer only, nothing spliced after it")
    #expect(o.event.outcome == .failed)
  }

  @Test func continuationThatFailsBeforeItsFirstChunkThenNoPrefillEndsCleanly() async throws {
    // a cuts; b continues with prefill but fails before sending anything; c cannot prefill.
    let sink = CollectingSink()
    let b = ScriptedAdapter("b", script: [.fail(failure(.connectFailed))])
    let c = ScriptedAdapter("c", script: [.ok("brand new")])
    let w = world(.restart, b: b, bPrefill: true, c: c, cPrefill: false)
    let o = try await w.complete(request(), sink: sink.sink)
    #expect(b.calls.first?.prefill == "part0 part1")
    #expect(c.calls.isEmpty)
    #expect(sink.restarts.isEmpty)
    #expect(o.value == nil)
    #expect(sink.held == "part0 part1")
  }

  @Test func theSameRequestWithRestartsAllowedDoesRestart() async throws {
    // Control: the default (socket clients) still restarts, so the flag is what changes it.
    let sink = CollectingSink()
    let b = ScriptedAdapter("b", script: [.ok("a different answer")])
    let w = world(.restart, b: b, bPrefill: false)
    let o = try await w.complete(Fixture.request(stream: true), sink: sink.sink)
    #expect(sink.restarts.count == 1)
    #expect(o.value?.response.content == "a different answer")
  }
}
