import Foundation
import Testing

@testable import SwitchboardCore

@Suite("Executor: attempts, retries, fail over")
struct RequestExecutorTests {
  @Test func permanentOutageGivesBoundedAttempts() async throws {
    let down = { (n: String) in ScriptedAdapter(n, then: .fail(failure(.connectFailed))) }
    let (a, b, c) = (down("a"), down("b"), down("c"))
    var route = Fixture.route()
    route.retry.maxAttempts = 2
    let world = TestWorld(routes: [route], adapters: [a, b, c])
    var outcomes: [RoutedOutcome] = []
    for i in 0..<30 {
      outcomes.append(try await world.complete(Fixture.request(id: "r\(i)")))
      world.clock.advance(by: .milliseconds(100))
    }
    #expect(outcomes.allSatisfy { $0.error?.code == .unavailable })
    #expect(outcomes.allSatisfy { $0.tried.count <= 2 })
    #expect(outcomes.allSatisfy { $0.event.totalLatencyMs < 1000 })
    // Circuits open after 3 failures each; then only probes (one per cooldown) get through.
    let total = a.calls.count + b.calls.count + c.calls.count
    #expect(total <= 3 * 3 + 3 * 3, "calls reaching dead providers: \(total)")
    #expect(outcomes.last?.error?.reason == .circuitOpen || outcomes.last?.error?.reason == .connectFailed)
    #expect(outcomes.contains { $0.error?.reason == .circuitOpen && $0.tried.isEmpty })
  }

  @Test func silentTimeoutFailsOverAndIsNotRetried() async throws {
    let a = ScriptedAdapter("a", script: [.hang])
    let b = ScriptedAdapter("b")
    let world = TestWorld(routes: [Fixture.route()], adapters: [a, b, ScriptedAdapter("c")])
    let o = try await world.complete(Fixture.request())
    #expect(a.calls.count == 1)
    #expect(o.value?.served == Fixture.b)
    #expect(o.tried[0].reason == .timeout && o.tried[0].failureClass == .transient)
    #expect(o.tried[0].latencyMs == 2000)  // the route's attempt timeout
    #expect(b.calls.first?.at == Instant(nanoseconds: 0).advanced(by: .seconds(2)))
  }

  @Test(arguments: [
    (failure(.connectionReset), true),
    (failure(.connectionReset, afterHeaders: true), false),
    (failure(.provider5xx, status: 503), true),
    (failure(.rateLimited, status: 429, retryAfter: .seconds(2)), true),
    (failure(.rateLimited, status: 429, retryAfter: .seconds(6)), false),
    (failure(.rateLimited, status: 429), false),
    (failure(.timeout, silent: true), false),
    (failure(.streamStalled, afterHeaders: true), false),
    (failure(.connectFailed), false),
  ])
  func sameCandidateRetryOnlyWhereCheap(f: ProviderFailure, retried: Bool) async throws {
    let a = ScriptedAdapter("a", script: [.fail(f)])
    let world = TestWorld(routes: [Fixture.route()], adapters: [a, ScriptedAdapter("b"), ScriptedAdapter("c")])
    let o = try await world.complete(Fixture.request())
    #expect(o.value != nil)
    #expect(o.value?.served == (retried ? Fixture.a : Fixture.b), "\(f)")
    #expect(o.tried.count == 2)
    #expect(o.tried[1].sameCandidateRetry == retried)
    if retried, let ra = f.retryAfter {
      // The retry waited out the Retry-After on the clock.
      let gap = o.tried[1].startedOffsetMs - (o.tried[0].startedOffsetMs + o.tried[0].latencyMs)
      #expect(gap >= ra.milliseconds)
      #expect(o.tried[0].retryAfterMs == ra.milliseconds)
    }
  }

  @Test func atMostOneInPlaceRetry() async throws {
    let a = ScriptedAdapter("a", script: [.fail(failure(.provider5xx, status: 500)), .fail(failure(.provider5xx, status: 500))])
    let world = TestWorld(routes: [Fixture.route()], adapters: [a, ScriptedAdapter("b"), ScriptedAdapter("c")])
    let o = try await world.complete(Fixture.request())
    #expect(o.tried.map(\.provider) == ["a", "a", "b"])
    #expect(o.value?.served == Fixture.b)
  }

  @Test func maxAttemptsBoundsTheWholeRequest() async throws {
    let f = Step.fail(failure(.provider5xx, status: 502))
    var route = Fixture.route()
    route.retry.maxAttempts = 3
    let world = TestWorld(routes: [route], adapters: [ScriptedAdapter("a", then: f), ScriptedAdapter("b", then: f), ScriptedAdapter("c", then: f)])
    let o = try await world.complete(Fixture.request())
    #expect(o.tried.count == 3)
    #expect(o.error?.reason == .provider5xx)
    #expect(o.error?.retryable == true)
  }

  @Test func oneOverallDeadline() async throws {
    var route = Fixture.route()
    route.retry.deadline = .seconds(5)
    route.timeouts.attempt = .seconds(3)
    let world = TestWorld(routes: [route], adapters: [ScriptedAdapter("a", then: .hang), ScriptedAdapter("b", then: .hang), ScriptedAdapter("c", then: .hang)])
    let o = try await world.complete(Fixture.request())
    #expect(o.error?.code == .deadlineExceeded)
    #expect(o.event.totalLatencyMs == 5000)
    #expect(o.tried.map(\.reason) == [.timeout, .deadlineExceeded])
  }

  @Test func contextLengthFailsOverOnlyToALargerWindow() async throws {
    let catalog = ModelCatalog(instanceEntries: [Fixture.a: Fixture.info(window: 8_000), Fixture.b: Fixture.info(window: 8_000),
                                                 Fixture.c: Fixture.info(window: 32_000)])
    let a = ScriptedAdapter("a", script: [.fail(failure(.contextLengthExceeded, status: 400))])
    let b = ScriptedAdapter("b")
    let world = TestWorld(routes: [Fixture.route()], adapters: [a, b, ScriptedAdapter("c")], catalog: catalog)
    let o = try await world.complete(Fixture.request())
    #expect(o.value?.served == Fixture.c)
    #expect(b.calls.isEmpty)
    #expect(o.event.attempts.map(\.outcome) == [.failed, .skipped, .success])
    #expect(o.event.attempts[1].reason == .contextTooSmall)
    #expect(o.event.attempts[0].failureClass == .semantic)
  }

  @Test(arguments: [false, true])
  func contentPolicyPropagatesUnlessTheRouteOptsIn(optIn: Bool) async throws {
    var route = Fixture.route()
    route.contentPolicyFallback = optIn
    let b = ScriptedAdapter("b")
    let world = TestWorld(routes: [route], adapters: [ScriptedAdapter("a", script: [.fail(failure(.contentPolicy, status: 400))]), b, ScriptedAdapter("c")])
    let o = try await world.complete(Fixture.request())
    if optIn {
      #expect(o.value?.served == Fixture.b)
    } else {
      #expect(o.error?.code == .upstreamRejected)
      #expect(o.error?.reason == .contentPolicy)
      #expect(b.calls.isEmpty)
    }
  }

  @Test func invalidRequestPropagatesWithoutRetry() async throws {
    let a = ScriptedAdapter("a", script: [.fail(failure(.invalidRequest, status: 400))])
    let b = ScriptedAdapter("b")
    let world = TestWorld(routes: [Fixture.route()], adapters: [a, b, ScriptedAdapter("c")])
    let o = try await world.complete(Fixture.request())
    #expect(o.error?.reason == .invalidRequest)
    #expect(a.calls.count == 1 && b.calls.isEmpty)
    #expect(o.event.reason == .invalidRequest)
  }

  @Test func aLocalWaitFailsOverButNeverCountsAgainstTheProvider() async throws {
    // The daemon's own connection queue to a provider was full until the attempt's time
    // ran out: the request fails over, but the provider's circuit does not hear of it.
    var circuit = CircuitPolicy()
    circuit.failureThreshold = 1
    var local = failure(.timeout, silent: true)
    local.local = true
    let a = ScriptedAdapter("a", then: .fail(local))
    let world = TestWorld(routes: [Fixture.route()], adapters: [a, ScriptedAdapter("b"), ScriptedAdapter("c")], circuit: circuit)
    for i in 0..<5 {
      let o = try await world.complete(Fixture.request(id: "l\(i)"))
      #expect(o.value?.served == Fixture.b)
      #expect(o.tried.first?.reason == .timeout)
    }
    #expect(a.calls.count == 5, "every request tried the provider again")
    #expect(!world.router.health.isBlocked(CircuitKey(Fixture.a, keyFingerprint: "none"), now: world.clock.now()))
    #expect(world.router.health.snapshot(now: world.clock.now()).allSatisfy { $0.consecutiveFailures == 0 })
    // The same failure from the provider's side (not local) opens it at threshold 1.
    let a2 = ScriptedAdapter("a", then: .fail(failure(.timeout, silent: true)))
    let world2 = TestWorld(routes: [Fixture.route()], adapters: [a2, ScriptedAdapter("b"), ScriptedAdapter("c")], circuit: circuit)
    _ = try await world2.complete(Fixture.request())
    #expect(world2.router.health.isBlocked(CircuitKey(Fixture.a, keyFingerprint: "none"), now: world2.clock.now()))
  }

  @Test func semanticErrorsNeverOpenACircuit() async throws {
    var circuit = CircuitPolicy()
    circuit.failureThreshold = 1
    let a = ScriptedAdapter("a", then: .fail(failure(.invalidResponse)))
    let world = TestWorld(routes: [Fixture.route()], adapters: [a, ScriptedAdapter("b"), ScriptedAdapter("c")], circuit: circuit)
    for i in 0..<20 { _ = try await world.complete(Fixture.request(id: "s\(i)")) }
    #expect(a.calls.count == 20)
    #expect(!world.router.health.isBlocked(CircuitKey(Fixture.a, keyFingerprint: "none"), now: world.clock.now()))
    // Whereas one transient failure does, at threshold 1.
    let a2 = ScriptedAdapter("a", then: .fail(failure(.provider5xx, status: 500)))
    let world2 = TestWorld(routes: [Fixture.route()], adapters: [a2, ScriptedAdapter("b"), ScriptedAdapter("c")], circuit: circuit)
    _ = try await world2.complete(Fixture.request())
    #expect(world2.router.health.isBlocked(CircuitKey(Fixture.a, keyFingerprint: "none"), now: world2.clock.now()))
  }

  @Test func reasonCodesAndBaselineInTheEvent() async throws {
    let a = ScriptedAdapter("a", script: [.fail(failure(.provider5xx, status: 503)), .fail(failure(.provider5xx, status: 503))])
    let world = TestWorld(routes: [Fixture.route()], adapters: [a, ScriptedAdapter("b"), ScriptedAdapter("c")])
    let o = try await world.complete(Fixture.request(id: "explain-me"))
    let e = try #require(world.audit.event(o.event.requestID))
    #expect(world.audit.all.count == 1)
    #expect(e.attempts.map(\.reason) == [.provider5xx, .provider5xx, nil])
    #expect(e.attempts.map(\.httpStatus) == [503, 503, nil])
    #expect(e.attempts.map(\.failureClass) == [.transient, .transient, nil])
    #expect(e.chosenProvider == "b" && e.baselineProvider == "a")
    // Usage 100 in / 50 out: b costs 2/M and 4/M, a 1/M and 2/M.
    let cost = try #require(e.costUSD), base = try #require(e.baselineCostUSD)
    #expect(abs(cost - 0.0004) < 1e-12 && abs(base - 0.0002) < 1e-12)
    #expect(abs((e.costDeltaUSD ?? 0) - 0.0002) < 1e-12)
    #expect(e.summary.contains("failures=provider_5xx,provider_5xx"))
    #expect(o.value?.attempts == 3)
  }

  @Test func failedRequestsAreExplainedToo() async throws {
    let world = TestWorld(routes: [Fixture.route("r", [Fixture.a])], adapters: [ScriptedAdapter("a", then: .fail(failure(.modelNotFound, status: 404)))])
    let o = try await world.complete(Fixture.request(id: "nope"))
    let e = try #require(world.audit.event(o.event.requestID))
    #expect(e.correlationID == "nope", "the client id is kept as the correlation id")
    #expect(e.outcome == .failed && e.reason == .modelNotFound && e.statusCode == o.error?.code)
    #expect(e.attempts.first?.failureClass == .hard)
    let unknown = try await world.complete(Fixture.request(route: "missing", id: "nope2"))
    #expect(unknown.error?.reason == .unknownRoute)
    #expect(world.audit.event(unknown.event.requestID)?.reason == .unknownRoute)
  }
}

@Suite("Keys: pool rotation")
struct KeyRotationTests {
  static let k1 = "sk-first-key-AAAAAAAAAAAAAAAA", k2 = "sk-second-key-BBBBBBBBBBBBBBB"

  @Test func invalidCredentialsRotatesToTheNextKeyAndTheEventHoldsOnlyFingerprints() async throws {
    let keys = KeyResolver(settings: ["a": ProviderKeySettings(pool: [.literal(Secret(Self.k1)), .environment("A_KEY_2")])],
                           environment: ["A_KEY_2": Self.k2])
    let a = ScriptedAdapter("a", requiresKey: true, script: [.fail(failure(.invalidCredentials, status: 401))])
    let world = TestWorld(routes: [Fixture.route()], adapters: [a, ScriptedAdapter("b"), ScriptedAdapter("c")], keys: keys)
    let o = try await world.complete(Fixture.request(id: "rot"))
    #expect(o.value?.served == Fixture.a)
    #expect(a.calls.map(\.revealedKey) == [Self.k1, Self.k2])
    let e = try #require(world.audit.event(o.event.requestID))
    #expect(e.attempts.map(\.keyFingerprint) == [Secret(Self.k1).fingerprint, Secret(Self.k2).fingerprint])
    #expect(e.attempts.map(\.keySource) == [.config, .env])
    #expect(e.attempts[0].reason == .invalidCredentials && e.attempts[0].failureClass == .hard)
    let json = String(decoding: try JSONEncoder().encode(e), as: UTF8.self)
    #expect(!json.contains(Self.k1) && !json.contains(Self.k2))
    #expect(json.contains(Secret(Self.k2).fingerprint))
    // The bad key is benched (its circuit opened at once); the next request starts on key 2.
    #expect(world.router.health.isBlocked(CircuitKey(Fixture.a, keyFingerprint: Secret(Self.k1).fingerprint), now: world.clock.now()))
    let next = try await world.complete(Fixture.request(id: "rot2"))
    #expect(next.event.attempts.filter { $0.outcome != .skipped }.map(\.keyFingerprint) == [Secret(Self.k2).fingerprint])
  }

  @Test func lastKeyBadFailsOver() async throws {
    let keys = KeyResolver(settings: ["a": ProviderKeySettings(pool: [.literal(Secret(Self.k1))])], environment: [:])
    let a = ScriptedAdapter("a", requiresKey: true, then: .fail(failure(.invalidCredentials, status: 401)))
    let world = TestWorld(routes: [Fixture.route()], adapters: [a, ScriptedAdapter("b"), ScriptedAdapter("c")], keys: keys)
    let o = try await world.complete(Fixture.request())
    #expect(o.value?.served == Fixture.b)
  }

  @Test func missingKeyIsSkippedAsHard() async throws {
    let a = ScriptedAdapter("a", requiresKey: true)
    let world = TestWorld(routes: [Fixture.route()], adapters: [a, ScriptedAdapter("b"), ScriptedAdapter("c")])
    let o = try await world.complete(Fixture.request())
    #expect(a.calls.isEmpty)
    #expect(o.event.attempts.first?.reason == .missingKey)
    #expect(o.value?.served == Fixture.b)
  }

  @Test func precedenceRequestStoreConfigEnvDotenv() {
    let r = KeyResolver(settings: ["p": ProviderKeySettings(pool: [.environment("P_KEY")], environmentVariable: "P_KEY")],
                        environment: [:], dotenv: ["P_KEY": "from-dotenv"])
    #expect(r.keys(for: "p").map(\.source) == [.dotenv])
    r.reload(settings: ["p": ProviderKeySettings(pool: [.environment("P_KEY")])], environment: ["P_KEY": "from-env"], dotenv: ["P_KEY": "x"])
    #expect(r.keys(for: "p").map(\.source) == [.env])
    r.set(Secret("from-store"), for: "p")
    #expect(r.keys(for: "p").map(\.source) == [.store])
    #expect(r.keys(for: "p", override: Secret("from-request")).map(\.source) == [.request])
    #expect(r.rotate("p", to: Secret("newer"))?.secret?.reveal() == "newer")
    #expect(r.keys(for: "p").map { $0.secret!.reveal() } == ["newer", "from-store"])
  }
}
