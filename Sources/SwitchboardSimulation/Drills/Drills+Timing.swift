import SwitchboardCore

extension Drills {
  /// A success that lands while the circuit is open (its attempt was admitted
  /// before the opening) must not close the circuit: only the half-open probe does.
  @Sendable static func staleSuccess(_ options: DrillOptions) async throws -> DrillReport {
    let (world, outcomes, policy) = try await staleSuccessScenario(options)
    var checks = DrillChecks()
    checkStaleSuccess(world, outcomes, policy: policy, checks: &checks)
    var timeline: [String] = []
    for o in outcomes where o.event.attempts.contains(where: { $0.provider == "sim-a" }) { timeline += world.lines(o) }
    timeline.append(summaryLine(world, outcomes))
    return DrillReport(name: "stale-success", timeline: timeline, violations: checks.violations, checks: checks.checks)
  }

  /// The traffic of `stale-success`: the world after it, every outcome, the circuit policy.
  static func staleSuccessScenario(_ options: DrillOptions) async throws -> (DrillWorld, [RoutedOutcome], CircuitPolicy) {
    var route = DrillWorld.route()
    route.retry.sameCandidateRetries = 0
    var circuit = DrillWorld.defaultCircuit
    circuit.baseCooldown = .seconds(3)
    circuit.maxCooldown = .seconds(8)
    let policy = options.circuit ?? circuit
    let world = DrillWorld(
      route: route,
      providers: [
        // p50 = p99: a deterministic 100 ms; `slow` is 10x (1 s, inside the 1.2 s attempt timeout).
        DrillWorld.provider("sim-a", seed: options.seed, p50: 100, p99: 100) {
          $0.script = [.init("slow")] + Array(repeating: .init("connect_failed"), count: 3)
        },
        DrillWorld.provider("sim-b", seed: options.seed &+ 1),
      ],
      circuit: policy)
    // Request 0 starts a slow (1 s) but successful attempt; 1-3 fail fast and open the
    // circuit at ~t=31ms; request 0's success lands at t=1000ms, while it is open.
    let outcomes = try await world.traffic(44) { i in i < 4 ? .milliseconds(10 * i) : .milliseconds(1000 + 100 * (i - 3)) }
    return (world, outcomes, policy)
  }

  /// The checks of `stale-success`, on any trace (tests feed them the trace the old rule produced).
  static func checkStaleSuccess(_ world: DrillWorld, _ outcomes: [RoutedOutcome], policy: CircuitPolicy, checks: inout DrillChecks) {
    let onA = world.attempts(outcomes).filter { $0.attempt.provider == "sim-a" }
      .map { (start: world.start($0.event, $0.attempt), end: world.start($0.event, $0.attempt) + $0.attempt.latencyMs, a: $0.attempt) }
      .sorted { $0.start < $1.start }
    checks.expect(outcomes.allSatisfy { (try? $0.result.get()) != nil }, "every request succeeds")
    let failures = onA.filter { $0.a.outcome == .failed }
    checks.expect(failures.count >= policy.failureThreshold, "failure_threshold failures open the primary's circuit", "\(failures.count)")
    guard failures.count >= policy.failureThreshold else { return }
    let openedAt = failures[policy.failureThreshold - 1].end
    let late = onA.first { $0.a.outcome == .success && $0.start < openedAt && $0.end > openedAt }
    checks.expect(late != nil, "an attempt admitted before the opening succeeds after it (the stale success)")
    let minCooldown = policy.baseCooldown.milliseconds * (1 - policy.jitter)
    let next = onA.first { $0.start > openedAt }
    checks.expect(next?.a.probe == true, "the first attempt on the primary after the opening is the half-open probe",
                  next.map { "t=\(fmt($0.start))ms probe=\($0.a.probe)" } ?? "none")
    checks.expect((next?.start ?? .infinity) >= openedAt + minCooldown - 0.5,
                  "nothing reaches the primary before its cooldown ends, stale success or not",
                  next.map { "at t=\(fmt($0.start))ms, opened at t=\(fmt(openedAt))ms" } ?? "")
    let early = onA.filter { $0.start > openedAt && $0.start < openedAt + minCooldown - 0.5 }
    checks.expect(early.isEmpty, "no attempt on the primary while open", "\(early.count)")
    if let next, next.a.probe, next.a.outcome == .success {
      let after = onA.filter { $0.start > next.end }
      checks.expect(!after.isEmpty && after.allSatisfy { !$0.a.probe && $0.a.outcome == .success },
                    "the probe's success closes the circuit; the primary serves again")
    }
  }

  /// A 5xx storm across 200 concurrent requests: same-candidate retries back off and
  /// stay within the provider's retry budget.
  @Sendable static func retryStorm(_ options: DrillOptions) async throws -> DrillReport {
    var route = DrillWorld.route()
    if let retry = options.retry { route.retry = retry }
    var circuit = DrillWorld.defaultCircuit
    circuit.failureThreshold = 1000  // the breaker stays closed: only the retry budget limits retries
    let budget = options.retryBudget ?? RetryBudget.Policy(maxTokens: 10, tokenRatio: 0.1)
    let world = DrillWorld(
      route: route,
      providers: [
        DrillWorld.provider("sim-a", seed: options.seed) { $0.faults = [.init("provider_5xx", rate: 0.6)] },
        DrillWorld.provider("sim-b", seed: options.seed &+ 1),
      ],
      circuit: options.circuit ?? circuit, retryBudget: budget)
    let count = 200
    let outcomes = try await world.traffic(count) { .milliseconds($0) }
    var checks = DrillChecks()
    checkRetryStorm(world, outcomes, budget: budget, nominalBackoff: RetryPolicy().backoffBase, checks: &checks)
    var timeline: [String] = []
    for o in outcomes.prefix(8) { timeline += world.lines(o) }
    let onA = world.attempts(outcomes).filter { $0.attempt.provider == "sim-a" }
    timeline.append("requests=\(count) attempts_on_sim-a=\(onA.count) same_candidate_retries=\(onA.filter { $0.attempt.sameCandidateRetry }.count)")
    timeline.append(summaryLine(world, outcomes))
    return DrillReport(name: "retry-storm", timeline: timeline, violations: checks.violations, checks: checks.checks)
  }

  static func checkRetryStorm(_ world: DrillWorld, _ outcomes: [RoutedOutcome], budget: RetryBudget.Policy,
                              nominalBackoff: Duration, checks: inout DrillChecks) {
    let onA = world.attempts(outcomes).filter { $0.attempt.provider == "sim-a" }
    let retries = onA.filter { $0.attempt.sameCandidateRetry }.count
    let successes = onA.filter { $0.attempt.outcome == .success }.count
    checks.expect(outcomes.allSatisfy { (try? $0.result.get()) != nil }, "every request succeeds (fallback serves the rest)")
    // The bucket starts full (max) and permits retries above half: at most max/2
    // retries on a cold storm, plus ratio per success, plus one in flight per request.
    let allowance = Double(budget.maxTokens) / 2 + budget.tokenRatio * Double(successes) + 1
    checks.expect(Double(retries) <= allowance, "same-candidate retries on sim-a stay within its retry budget",
                  "\(retries) retries > \(fmt(allowance)) allowed")
    checks.expect(Double(onA.count) <= Double(outcomes.count) * 1.1, "retries add at most 10% load on the struggling provider",
                  "\(onA.count) attempts for \(outcomes.count) requests")
    var tooSoon = 0
    for o in outcomes {
      let a = o.event.attempts.filter { $0.outcome != .skipped }
      for (p, q) in zip(a, a.dropFirst()) where q.sameCandidateRetry {
        if q.startedOffsetMs - (p.startedOffsetMs + p.latencyMs) + 0.5 < nominalBackoff.milliseconds / 2 { tooSoon += 1 }
      }
    }
    checks.expect(tooSoon == 0, "every same-candidate retry waits its jittered back-off (>= backoff_base/2)", "\(tooSoon) did not")
  }

  /// A primary excluded by the latency SLA while degraded comes back once it recovers:
  /// windowed samples age out and one trial request per interval refreshes them.
  @Sendable static func slaRecovery(_ options: DrillOptions) async throws -> DrillReport {
    var route = DrillWorld.route()
    route.constraints.latencySLA = .milliseconds(500)
    route.constraints.slaTrialInterval = options.slaTrials ? .seconds(30) : nil
    let degraded = Duration.seconds(600)
    let world = DrillWorld(
      route: route,
      providers: [
        // 80 ms; 800 ms (10x) while degraded: over the 500 ms SLA, inside the attempt timeout.
        DrillWorld.provider("sim-a", seed: options.seed, p50: 80, p99: 80) { $0.slowWindows = [.zero ..< degraded] },
        DrillWorld.provider("sim-b", seed: options.seed &+ 1, p50: 300, p99: 400),
      ],
      circuit: options.circuit ?? DrillWorld.defaultCircuit, latencyWindow: options.latencyWindow)
    let every = 5_000.0, count = 480  // 40 minutes
    let outcomes = try await world.traffic(count) { .milliseconds(Int64(every) * Int64($0)) }
    var checks = DrillChecks()
    let recoveryMs = degraded.milliseconds
    let window = world.router.stats.window.milliseconds
    checks.expect(outcomes.allSatisfy { (try? $0.result.get()) != nil }, "every request succeeds")
    let excluded = outcomes.filter { o in o.event.candidates.contains { $0.provider == "sim-a" && $0.rejection == .overLatencySLA } }
    checks.expect(!excluded.isEmpty, "the degraded primary is excluded by the SLA")
    // While degraded: at most one trial per interval.
    let trialsDuring = world.attempts(outcomes).filter {
      $0.attempt.provider == "sim-a" && world.start($0.event, $0.attempt) < recoveryMs
    }.map { world.start($0.event, $0.attempt) }
    var crowded = 0
    for (p, q) in zip(trialsDuring, trialsDuring.dropFirst()) where q - p < 30_000 - every { crowded += 1 }
    checks.expect(crowded <= 1, "while excluded, the primary gets at most one trial per sla_trial_interval", "\(crowded) too close")
    // After recovery: back on the primary within the window plus a trial interval.
    let back = outcomes.first { o in
      world.ms(wall: o.event.timestampMs) >= recoveryMs && (try? o.result.get().served) == DrillWorld.primary
        && !o.event.candidates.contains { $0.provider == "sim-a" && $0.detail.hasPrefix("sla_trial") }
    }
    let backAt = back.map { world.ms(wall: $0.event.timestampMs) } ?? .infinity
    let limit = recoveryMs + window + 30_000 + 2 * every
    checks.expect(backAt <= limit, "the recovered primary is re-admitted within latency window + trial interval (by t=\(fmt(limit))ms)",
                  backAt.isFinite ? "at t=\(fmt(backAt))ms" : "never re-admitted")
    let tail = outcomes.filter { world.ms(wall: $0.event.timestampMs) > backAt }
    checks.expect(!tail.isEmpty && tail.allSatisfy { (try? $0.result.get().served) == DrillWorld.primary },
                  "once re-admitted, the primary keeps serving")
    var timeline: [String] = []
    for o in outcomes where o.event.attempts.contains(where: { $0.provider == "sim-a" }) && world.ms(wall: o.event.timestampMs) <= backAt {
      timeline += world.lines(o).filter { $0.contains("sim-a") }
    }
    if backAt.isFinite { timeline.append("t=\(fmt(backAt))ms primary=\(DrillWorld.primary) readmitted") }
    timeline.append(summaryLine(world, outcomes))
    return DrillReport(name: "sla-recovery", timeline: timeline, violations: checks.violations, checks: checks.checks)
  }

  /// A 20 s non-streamed generation succeeds under the default timeouts (a unary call
  /// is bounded by connect + attempt_ms, never by first_token_ms); a stream whose first
  /// content takes as long still hits the first-token limit and fails over.
  @Sendable static func longUnary(_ options: DrillOptions) async throws -> DrillReport {
    var route = RoutePolicy(name: DrillWorld.routeName, candidates: [CandidateSpec(DrillWorld.primary), CandidateSpec(DrillWorld.fallback)])
    route.timeouts = options.timeouts ?? TimeoutPolicy()  // the defaults: 2 s / 8 s / 10 s / 30 s
    route.retry = RetryPolicy()
    let world = DrillWorld(
      route: route,
      providers: [
        DrillWorld.provider("sim-a", seed: options.seed, p50: 8_000, p99: 8_000) { $0.firstTokenDelay = .seconds(12) },
        DrillWorld.provider("sim-b", seed: options.seed &+ 1),
      ],
      circuit: options.circuit ?? DrillWorld.defaultCircuit)
    let router = world.router
    let outcomes = try await world.driver.run(2) { i in
      await router.complete(DrillWorld.request(i, stream: i == 1))
    }
    var checks = DrillChecks()
    checkLongUnary(outcomes, route: route, checks: &checks)
    return DrillReport(name: "long-unary", timeline: outcomes.flatMap { world.lines($0) }, violations: checks.violations,
                       checks: checks.checks)
  }

  static func checkLongUnary(_ outcomes: [RoutedOutcome], route: RoutePolicy, checks: inout DrillChecks) {
    let unary = outcomes[0], stream = outcomes[1]
    let u = try? unary.result.get()
    checks.expect(u?.served == DrillWorld.primary, "the 20 s unary generation is served by the primary",
                  u.map { "\($0.served)" } ?? "\(unary.result)")
    checks.expect(unary.event.attempts.count == 1, "in one attempt (not failed over, not paid twice)",
                  unary.event.attempts.map { "\($0.provider):\($0.reason?.rawValue ?? "ok")" }.joined(separator: ","))
    let latency = unary.event.attempts.first?.latencyMs ?? 0
    checks.expect(abs(latency - 20_000) < 1, "its attempt took the whole 20 s", "\(fmt(latency))ms")
    checks.expect(!unary.event.attempts.contains { $0.reason == .firstTokenTimeout }, "no first_token_timeout on a unary call")
    let first = stream.event.attempts.first
    checks.expect(first?.reason == .firstTokenTimeout && abs((first?.latencyMs ?? 0) - route.timeouts.firstToken.milliseconds) < 1,
                  "a stream without content for first_token_ms fails with first_token_timeout",
                  first.map { "\($0.reason?.rawValue ?? "ok") at \(fmt($0.latencyMs))ms" } ?? "none")
    checks.expect((try? stream.result.get())?.served == DrillWorld.fallback, "and fails over to the fallback")
  }
}
