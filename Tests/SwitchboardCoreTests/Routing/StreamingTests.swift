import Testing

@testable import SwitchboardCore
import SwitchboardSimulation

@Suite("Streaming failures")
struct StreamingTests {
  func world(_ policy: StreamFailurePolicy, a: ScriptedAdapter, b: ScriptedAdapter, c: ScriptedAdapter = ScriptedAdapter("c"),
             bPrefill: Bool = true) -> TestWorld {
    var route = Fixture.route()
    route.onStreamFailure = policy
    let catalog = ModelCatalog(instanceEntries: [
      Fixture.a: Fixture.info(), Fixture.b: Fixture.info(caps: bPrefill ? [.streaming, .prefill] : [.streaming]),
      Fixture.c: Fixture.info(caps: [.streaming, .prefill]),
    ])
    return TestWorld(routes: [route], adapters: [a, b, c], catalog: catalog)
  }

  @Test func failureBeforeTheFirstChunkFailsOverInvisibly() async throws {
    let sink = CollectingSink()
    let w = world(.error, a: ScriptedAdapter("a", script: [.fail(failure(.connectFailed))]), b: ScriptedAdapter("b", script: [.ok("one two three four")]))
    let o = try await w.complete(Fixture.request(stream: true), sink: sink.sink)
    #expect(o.value?.served == Fixture.b)
    #expect(sink.restarts.isEmpty)
    #expect(sink.held == "one two three four")
    #expect(sink.all.allSatisfy { if case .delta(_, _, let ref) = $0 { return ref == Fixture.b } else { return false } })
  }

  @Test func restartSendsStreamRestartThenTheNewStream() async throws {
    let sink = CollectingSink()
    let b = ScriptedAdapter("b", script: [.ok("alpha beta gamma")])
    let w = world(.restart, a: ScriptedAdapter("a", script: [.cut(delivered: 2)]), b: b)
    let o = try await w.complete(Fixture.request(stream: true), sink: sink.sink)
    let r = try #require(o.value)
    #expect(sink.restarts.count == 1)
    #expect(sink.restarts.first?.failed == Fixture.a && sink.restarts.first?.next == Fixture.b && sink.restarts.first?.reason == .streamCut)
    // Order: a's deltas, the restart, then b's whole stream.
    guard case .delta(_, 1, Fixture.a) = sink.all.first, case .restart = sink.all[2] else {
      Issue.record("unexpected order \(sink.all)"); return
    }
    #expect(sink.held == r.response.content)
    #expect(r.response.content == "alpha beta gamma")
    #expect(b.calls.first?.prefill == nil)
  }

  @Test func continueUsesPrefillWhereTheCandidateCan() async throws {
    let sink = CollectingSink()
    let b = ScriptedAdapter("b", script: [.ok("and the rest")])
    let w = world(.continue, a: ScriptedAdapter("a", script: [.cut(delivered: 2)]), b: b)
    let o = try await w.complete(Fixture.request(stream: true), sink: sink.sink)
    let r = try #require(o.value)
    #expect(sink.restarts.isEmpty)
    #expect(b.calls.first?.prefill == "part0 part1")
    #expect(r.response.content == "part0 part1 and the rest")
    #expect(sink.held == r.response.content, "the client's text is the final answer")
  }

  @Test func continueFallsBackToRestartWithoutPrefill() async throws {
    let sink = CollectingSink()
    let b = ScriptedAdapter("b", script: [.ok("fresh answer")])
    let w = world(.continue, a: ScriptedAdapter("a", script: [.cut(delivered: 2)]), b: b, bPrefill: false)
    let o = try await w.complete(Fixture.request(stream: true), sink: sink.sink)
    #expect(sink.restarts.count == 1)
    #expect(b.calls.first?.prefill == nil)
    #expect(o.value?.response.content == "fresh answer")
    #expect(sink.held == "fresh answer")
  }

  @Test func continueAcrossTwoCutsKeepsTheWholeText() async throws {
    let sink = CollectingSink()
    let b = ScriptedAdapter("b", script: [.cut(delivered: 1)])
    let c = ScriptedAdapter("c", script: [.ok("the end")])
    let w = world(.continue, a: ScriptedAdapter("a", script: [.cut(delivered: 2)]), b: b, c: c)
    let o = try await w.complete(Fixture.request(stream: true), sink: sink.sink)
    let r = try #require(o.value)
    #expect(sink.restarts.isEmpty)
    #expect(c.calls.first?.prefill == "part0 part1 part0")
    #expect(r.response.content == "part0 part1 part0 the end")
    #expect(sink.held == r.response.content)
  }

  @Test func continueThenRestartClearsWhatTheClientHeld() async throws {
    // a cuts, b continues (prefill) and fails before its first chunk, c cannot prefill: restart.
    let sink = CollectingSink()
    var route = Fixture.route()
    route.onStreamFailure = .continue
    let catalog = ModelCatalog(instanceEntries: [Fixture.a: Fixture.info(), Fixture.b: Fixture.info(caps: [.streaming, .prefill]),
                                                 Fixture.c: Fixture.info(caps: [.streaming])])
    let b = ScriptedAdapter("b", script: [.fail(failure(.connectFailed))])
    let c = ScriptedAdapter("c", script: [.ok("brand new")])
    let w = TestWorld(routes: [route], adapters: [ScriptedAdapter("a", script: [.cut(delivered: 2)]), b, c], catalog: catalog)
    let o = try await w.complete(Fixture.request(stream: true), sink: sink.sink)
    #expect(b.calls.first?.prefill == "part0 part1")
    #expect(sink.restarts.count == 1 && sink.restarts.first?.failed == Fixture.a)
    #expect(o.value?.response.content == "brand new")
    #expect(sink.held == "brand new")
  }

  @Test func errorEndsWithATerminalStatusNotATruncatedSuccess() async throws {
    let sink = CollectingSink()
    let b = ScriptedAdapter("b")
    let w = world(.error, a: ScriptedAdapter("a", script: [.cut(delivered: 2)]), b: b)
    let o = try await w.complete(Fixture.request(stream: true), sink: sink.sink)
    #expect(o.value == nil)
    #expect(o.error?.reason == .streamCut)
    #expect(o.event.outcome == .failed)
    #expect(b.calls.isEmpty)
    #expect(sink.restarts.isEmpty)
  }

  @Test(arguments: [StreamFailurePolicy.restart, .continue])
  func aCutOnTheLastCandidateIsAFailure(policy: StreamFailurePolicy) async throws {
    var route = Fixture.route("r", [Fixture.a])
    route.onStreamFailure = policy
    let w = TestWorld(routes: [route], adapters: [ScriptedAdapter("a", script: [.cut(delivered: 3)])])
    let o = try await w.complete(Fixture.request(stream: true), sink: CollectingSink().sink)
    #expect(o.value == nil)
    #expect(o.error?.reason == .streamCut)
  }

  @Test func simulatedProviderStreamCutUnderRestart() async throws {
    var cfg = SimulatedProviderConfiguration()
    cfg.script = [.init("stream_cut")]
    cfg.outputTokens = 20
    let sim = SimulatedProvider(name: "a", configuration: cfg)
    let sink = CollectingSink()
    let w = world(.restart, a: ScriptedAdapter("unused"), b: ScriptedAdapter("b", script: [.ok("x y z")]))
    let router = Router(configuration: RouterConfiguration(routes: w.router.configuration.routes,
                                                           adapters: ["a": sim, "b": ScriptedAdapter("b", script: [.ok("x y z")]), "c": ScriptedAdapter("c")],
                                                           catalog: w.router.configuration.catalog),
                        keys: KeyResolver(settings: [:], environment: [:]), clock: w.clock)
    let o = try await w.driver.run { await router.complete(Fixture.request(stream: true), sink: sink.sink) }
    #expect(o.value?.response.content == "x y z")
    #expect(sink.restarts.count == 1)
    #expect(sink.held == "x y z")
  }
}
