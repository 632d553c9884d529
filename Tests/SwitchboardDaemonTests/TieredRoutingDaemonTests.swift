import Foundation
import SwitchboardClient
import SwitchboardCore
import SwitchboardDaemon
import SwitchboardTestKit
import SwitchboardWire
import Testing

/// `strategy: tiered` end to end: client → socket → daemon → HTTP → FakeProvider,
/// with a fake per provider: `fast/m-fast`, `deep/m-deep` and the router `rtr/m-rtr`.
@Suite(.serialized) struct TieredRoutingDaemonTests {
  struct Stack {
    let daemon: InProcessDaemon
    let client: SwitchboardClient
    let fakes: [String: FakeProvider]
    subscript(_ p: String) -> FakeProvider { fakes[p]! }

    func complete(_ text: String) async throws -> Switchboard_V1_CompletionResponse {
      try await client.complete(TestSupport.request(route: "t", text))
    }
    func explain(_ id: String) async throws -> Switchboard_V1_ExplainResponse {
      var a = Switchboard_V1_AdminRequest()
      var e = Switchboard_V1_ExplainRequest(); e.requestID = id
      a.kind = .explain(e)
      return try await client.admin(a).explain
    }
    func routerCircuit() -> CircuitSnapshot? {
      daemon.runtime.router.health.snapshot(now: daemon.runtime.router.clock.now()).first { $0.key.provider == "rtr" }
    }
  }

  static let route = """
    t:
        strategy: tiered
        tiers:
          fast: [fast/m-fast]
          deep: {candidates: [deep/m-deep], description: "hard questions"}
        rules:
          - {name: greeting, tier: fast, match: "(?i)^hello"}
        router:
          candidates: [rtr/m-rtr]
          timeout_ms: 1500
          default_tier: fast
      slow:
        strategy: tiered
        tiers: {fast: [fast/m-fast], deep: [deep/m-deep]}
        router: {candidates: [rtr/m-rtr], timeout_ms: 20000, default_tier: fast}
    """

  static func withStack(_ body: (Stack) async throws -> Void) async throws {
    var fakes: [String: FakeProvider] = [:]
    for p in ["fast", "deep", "rtr"] {
      let f = FakeProvider()
      try await f.start()
      fakes[p] = f
    }
    defer { for f in fakes.values { Task { try? await f.shutdown() } } }
    let dir = TestSupport.tempDir()
    var yaml = "listen: {socket: /tmp/unused.sock}\nlogging: {level: error}\naudit: {path: \"\(dir)/audit.sqlite\"}\n"
    yaml += "circuit: {failure_threshold: 2, base_cooldown_ms: 60000, max_cooldown_ms: 60000, jitter: 0}\n"
    yaml += "providers:\n"
    for p in ["fast", "deep", "rtr"] {
      yaml += "  \(p): {kind: openai, base_url: \"\(fakes[p]!.baseURL)\", keys: [{value: \"sk-test-tiered-\(p)-0123456789\"}]}\n"
    }
    yaml += "models:\n"
    for p in ["fast", "deep", "rtr"] {
      yaml += "  \(p)/m-\(p): {input: 1.0, output: 2.0, context: 32000, max_output: 1024, capabilities: [streaming]}\n"
    }
    yaml += "routes:\n  " + route + "\n"
    let daemon = try await InProcessDaemon.start(yaml: yaml, socketPath: dir + "/t.sock", environment: [:])
    do {
      let client = try await SwitchboardClient.connect(socketPath: dir + "/t.sock")
      do { try await body(Stack(daemon: daemon, client: client, fakes: fakes)) } catch {
        await client.close(); throw error
      }
      await client.close()
    } catch {
      await daemon.stop(); throw error
    }
    await daemon.stop()
  }

  @Test func aRuleServesWithoutARouterCall() async throws {
    try await Self.withStack { s in
      let r = try await s.complete("hello, anyone there?")
      #expect(r.provider == "fast")
      #expect(s["rtr"].attempts.isEmpty)
      let x = try await s.explain(r.requestID)
      #expect(x.event.tier.tier == "fast" && x.event.tier.source == "rule" && x.event.tier.rule == "greeting")
      #expect(x.text.contains("chosen    fast   by rule greeting (match on the last user message)"))
    }
  }

  @Test func theRouterAnswerChoosesTheTierAndExplainShowsItAndItsCost() async throws {
    try await Self.withStack { s in
      s["rtr"].script(model: "m-rtr", .reply(#"{"tier": "deep", "reason": "a hard question"}"#))
      let r = try await s.complete("Explain quantum tunnelling to a lawyer.")
      #expect(r.provider == "deep")
      let call = try #require(s["rtr"].attempts.first)
      let messages = call.body["messages"]?.array ?? []
      #expect(messages.first?["role"]?.string == "system")
      #expect(messages.first?["content"]?.string?.contains("- deep: hard questions") == true)
      #expect(messages.last?["content"]?.string == "Explain quantum tunnelling to a lawyer.")
      #expect(call.body["max_tokens"]?.number == 64 || call.body["max_completion_tokens"]?.number == 64)
      let x = try await s.explain(r.requestID)
      let t = x.event.tier
      #expect(t.tier == "deep" && t.source == "router" && t.reasonCode == "router" && t.routerTier == "deep")
      #expect(t.routerReason == "a hard question")
      #expect(t.routerAttempts.count == 1 && t.routerAttempts[0].outcome == "success" && t.routerAttempts[0].provider == "rtr")
      #expect(t.routerCostMicroUsd > 0)
      let attempts = x.event.attempts.reduce(Int64(0)) { sum, a in
        if case .costMicroUsd(let c)? = a.optCostMicroUsd { return sum + c } else { return sum }
      }
      #expect(x.event.totalSpendMicroUsd == attempts + t.routerCostMicroUsd, "the router's cost is in the request's spend")
      #expect(x.text.contains("chosen    deep   by the router: \"a hard question\""))
      #expect(x.text.contains("router    1 call(s)"))
    }
  }

  @Test func anUnparseableRouterAnswerTakesTheDefaultTier() async throws {
    try await Self.withStack { s in
      // Unscripted, the fake answers "fake answer from m-rtr": not the JSON asked for.
      let r = try await s.complete("What is the refund window?")
      #expect(r.provider == "fast")
      let x = try await s.explain(r.requestID)
      #expect(x.event.tier.reasonCode == "router_invalid" && x.event.tier.source == "default")
      #expect(x.text.contains("default_tier (router_invalid)"))
      #expect(s.routerCircuit() == nil || s.routerCircuit()?.consecutiveFailures == 0)
    }
  }

  @Test func aRouterThatNeverAnswersTimesOutToTheDefaultTier() async throws {
    try await Self.withStack { s in
      s["rtr"].script(model: "m-rtr", .hang)
      let r = try await s.complete("What is the refund window?")
      #expect(r.provider == "fast")
      let x = try await s.explain(r.requestID)
      #expect(x.event.tier.reasonCode == "router_timeout")
      #expect(x.event.tier.routerAttempts.first?.reasonCode == "timeout")
      #expect(s.routerCircuit()?.consecutiveFailures == 1)
    }
  }

  @Test func routerErrorsOpenItsCircuitAndThenRequestsSkipTheCall() async throws {
    try await Self.withStack { s in
      s["rtr"].script(model: "m-rtr", .status(500), .status(500), .reply(#"{"tier": "deep"}"#))
      for _ in 0..<2 {
        let r = try await s.complete("Which tier?")
        #expect(r.provider == "fast")
        #expect(try await s.explain(r.requestID).event.tier.reasonCode == "router_error")
      }
      #expect(s.routerCircuit()?.state == "open")
      let r = try await s.complete("Which tier now?")
      #expect(r.provider == "fast")
      let x = try await s.explain(r.requestID)
      #expect(x.event.tier.reasonCode == "router_circuit_open")
      #expect(x.event.tier.routerAttempts.map(\.outcome) == ["skipped"])
      #expect(s["rtr"].attempts.count == 2, "no call reaches a router whose circuit is open")
    }
  }
}

extension TieredRoutingDaemonTests {
  /// A client that cancels while the router call is in flight: the call ends
  /// CANCELLED at once, the router's circuit records nothing, its reservation is
  /// settled, the tier is never run, and the next request's router call goes through.
  @Test func cancellingDuringTheRouterCallLeavesHealthAndBudgetsClean() async throws {
    try await Self.withStack { s in
      s["rtr"].script(model: "m-rtr", .hang, .reply(#"{"tier": "deep", "reason": "ok"}"#))
      let (id, frames) = try await s.client.open(.completionRequest(TestSupport.request(route: "slow", "Which tier?")))
      await TestSupport.eventually { !s["rtr"].attempts.isEmpty }
      #expect(s["rtr"].attempts.count == 1, "the router call is in flight")
      let t0 = ContinuousClock.now
      try await s.client.cancel(id)
      var last: Switchboard_V1_Frame?
      for try await f in frames { last = f }
      #expect(last?.status.code == .cancelled)
      // Well under the 20 s router call (which would end it otherwise), with room for a
      // loaded machine (a cancel took up to 4.8 s under parallel load elsewhere).
      #expect(ContinuousClock.now - t0 < .seconds(15), "the 20 s router call was cut short")
      #expect(s["fast"].attempts.isEmpty && s["deep"].attempts.isEmpty, "the tier is not run after a cancel")
      #expect(s.routerCircuit() == nil || s.routerCircuit()?.consecutiveFailures == 0, "a cancel is not a router failure")
      let router = s.daemon.runtime.router
      let budgets = await router.ledger.snapshot(scopes: nil, wallMillis: router.clock.wallMillis())
      #expect(budgets.allSatisfy { $0.reserved == .zero }, "the router call's reservation is settled")
      var a = Switchboard_V1_AdminRequest()
      var l = Switchboard_V1_ListDecisionsRequest(); l.route = "slow"
      a.kind = .listDecisions(l)
      let listed = try await s.client.admin(a).listDecisions.events
      let cancelled = try #require(listed.first { $0.outcome == "cancelled" })
      #expect(cancelled.tier.reasonCode == "router_cancelled")
      #expect(cancelled.tier.routerAttempts.first?.reasonCode == "cancelled")
      // The router still serves the next request.
      let r = try await s.client.complete(TestSupport.request(route: "slow", "Which tier now?"))
      #expect(r.provider == "deep")
    }
  }
}

@Suite struct TieredConfigTests {
  static let providers = "providers: {a: {kind: simulated}, b: {kind: simulated}, r: {kind: simulated}}\n"

  static func issues(_ routes: String) -> [ConfigIssue] {
    do { _ = try DaemonConfiguration.parse(yaml: providers + "routes:\n" + routes); return [] } catch let e as ConfigError {
      return e.issues
    } catch { Issue.record("\(error)"); return [] }
  }

  @Test func aValidTieredRouteParses() throws {
    let c = try DaemonConfiguration.parse(yaml: Self.providers + """
      routes:
        t:
          strategy: tiered
          tiers:
            fast: [a/m]
            deep: {candidates: [{target: b/m, weight: 2}, a/m], description: "hard"}
          rules:
            - {name: long, tier: deep, min_input_tokens: 4000}
            - {tier: fast, max_input_tokens: 20, match: "(?i)^hi", tags: {team: "*"}, require: [streaming]}
          router:
            candidates: [r/m]
            timeout_ms: 250
            default_tier: fast
            choices: [fast]
            max_tokens: 32
            max_input_chars: 500
            prompt: "Pick one of {tiers}"
      """)
    let route = try #require(c.routes["t"])
    #expect(route.strategy == .tiered)
    let t = try #require(route.tiered)
    #expect(t.tiers.map(\.name) == ["fast", "deep"])
    #expect(t.tiers[1].description == "hard" && t.tiers[1].candidates.first?.weight == 2)
    #expect(route.candidates.map(\.ref.description) == ["a/m", "b/m"], "the union of the tiers, each once")
    #expect(t.rules.map(\.name) == ["long", "rules[1]"])
    #expect(t.rules[1].pattern != nil && t.rules[1].tags == ["team": "*"] && t.rules[1].requires == [.streaming])
    #expect(t.router.candidates.map(\.description) == ["r/m"])
    #expect(t.router.timeout == .milliseconds(250) && t.router.defaultTier == "fast" && t.router.choices == ["fast"])
    #expect(t.router.maxTokens == 32 && t.router.maxInputCharacters == 500 && t.router.prompt == "Pick one of {tiers}")
  }

  @Test func defaults() throws {
    let c = try DaemonConfiguration.parse(yaml: Self.providers + "routes:\n  t: {strategy: tiered, tiers: {x: [a/m]}, router: {default_tier: x}}\n")
    let t = try #require(c.routes["t"]?.tiered)
    #expect(t.router.timeout == .milliseconds(500) && t.router.candidates.isEmpty && t.router.maxTokens == 64)
    #expect(t.router.prompt == TierRouterPolicy.defaultPrompt)
  }

  @Test(arguments: [
    ("  t: {strategy: tiered, router: {default_tier: x}}\n", "routes.t.tiers", "needs tiers"),
    ("  t: {strategy: tiered, tiers: {x: [a/m]}}\n", "routes.t.router", "needs a router block"),
    ("  t: {strategy: tiered, tiers: {x: [a/m]}, router: {}}\n", "routes.t.router.default_tier", "required"),
    ("  t: {strategy: tiered, tiers: {x: [a/m]}, router: {default_tier: y}}\n", "routes.t.router.default_tier", "not a tier of this route"),
    ("  t: {strategy: tiered, tiers: {x: []}, router: {default_tier: x}}\n", "routes.t.tiers.x", "at least one candidate"),
    ("  t: {strategy: tiered, tiers: {\"bad name\": [a/m]}, router: {default_tier: x}}\n", "routes.t.tiers.bad name", "tier name"),
    ("  t: {strategy: tiered, tiers: {x: [zz/m]}, router: {default_tier: x}}\n", "routes.t.tiers.x[0]", "not configured"),
    ("  t: {strategy: tiered, candidates: [a/m], tiers: {x: [a/m]}, router: {default_tier: x}}\n", "routes.t.candidates", "under tiers"),
    ("  t: {strategy: tiered, tiers: {x: [a/m]}, rules: [{tier: y, min_input_tokens: 1}], router: {default_tier: x}}\n",
     "routes.t.rules[0].tier", "not a tier"),
    ("  t: {strategy: tiered, tiers: {x: [a/m]}, rules: [{tier: x}], router: {default_tier: x}}\n", "routes.t.rules[0]",
     "at least one condition"),
    ("  t: {strategy: tiered, tiers: {x: [a/m]}, rules: [{tier: x, match: \"(unclosed\"}], router: {default_tier: x}}\n",
     "routes.t.rules[0].match", "not a valid regular expression"),
    ("  t: {strategy: tiered, tiers: {x: [a/m]}, rules: [{tier: x, min_input_tokens: 9, max_input_tokens: 1}], router: {default_tier: x}}\n",
     "routes.t.rules[0].min_input_tokens", "above max_input_tokens"),
    ("  t: {strategy: tiered, tiers: {x: [a/m]}, rules: [{tier: x, sizes: 1}], router: {default_tier: x}}\n",
     "routes.t.rules[0].sizes", "unknown key"),
    ("  t: {strategy: tiered, tiers: {x: [a/m]}, router: {default_tier: x, timeout_ms: 0}}\n", "routes.t.router.timeout_ms", "at least 1"),
    ("  t: {strategy: tiered, tiers: {x: [a/m]}, router: {default_tier: x, choices: [y]}}\n", "routes.t.router.choices[0]", "not a tier"),
    ("  t: {strategy: tiered, tiers: {x: [a/m]}, router: {default_tier: x, candidates: [nope]}}\n", "routes.t.router.candidates[0]",
     "provider/model"),
    ("  t: {candidates: [a/m], tiers: {x: [a/m]}}\n", "routes.t.tiers", "only a route with strategy: tiered"),
  ])
  func errorsNameTheKey(routes: String, path: String, message: String) {
    let found = Self.issues(routes)
    #expect(found.contains { $0.path == path && $0.message.contains(message) }, "\(found)")
  }

  @Test func errorsNeverEchoTheValue() {
    let canary = "sk-CANARY-tiered-91c"
    for routes in [
      "  t: {strategy: tiered, tiers: {x: [a/m]}, rules: [{tier: x, match: \"(\(canary)\"}], router: {default_tier: x}}\n",
      "  t: {strategy: tiered, tiers: {x: [a/m]}, rules: [{tier: \(canary), max_input_tokens: 1}], router: {default_tier: \(canary)}}\n",
      "  t: {strategy: tiered, tiers: {x: [a/m]}, router: {default_tier: x, prompt: [\(canary)]}}\n",
      "  t: {strategy: tiered, tiers: {x: [\(canary)]}, router: {default_tier: x, candidates: [\"\(canary)/m\"]}}\n",
    ] {
      let found = Self.issues(routes)
      #expect(!found.isEmpty)
      #expect(!found.contains { $0.description.contains(canary) }, "\(found)")
    }
  }
}
