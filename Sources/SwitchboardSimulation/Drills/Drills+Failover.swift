import SwitchboardCore
extension Drills {
  /// The primary times out once; the request fails over and the decision is explained.
  @Sendable static func goldenPath(_ options: DrillOptions) async throws -> DrillReport {
    var route = DrillWorld.route(strategy: .score)
    route.constraints.maxCostUSD = 0.0035
    let world = DrillWorld(
      route: route,
      providers: [
        DrillWorld.provider("sim-a", seed: options.seed) { $0.script = [.init("timeout")] },
        DrillWorld.provider("sim-b", seed: options.seed &+ 1, p50: 450, p99: 700),
      ],
      circuit: options.circuit ?? DrillWorld.defaultCircuit)
    let outcomes = try await world.traffic(1) { _ in .zero }
    let o = outcomes[0]
    var checks = DrillChecks()
    let e = o.event
    let served = try? o.result.get()
    checks.expect(served != nil, "the request succeeds", "\(o.result)")
    checks.expect(served?.served == DrillWorld.fallback, "it is served by the fallback \(DrillWorld.fallback)",
                  "\(served?.served.description ?? "nothing")")
    let first = e.attempts.first
    checks.expect(first?.provider == "sim-a" && first?.reason == .timeout && first?.failureClass == .transient,
                  "attempt 1 on the primary fails with reason timeout (transient)",
                  "\(first.map { "\($0.provider) \($0.reason?.rawValue ?? "ok")" } ?? "no attempt")")
    checks.expect(first.map { abs($0.latencyMs - route.timeouts.attempt.milliseconds) < 1 } ?? false,
                  "the timeout fires at the attempt timeout (\(Int(route.timeouts.attempt.milliseconds))ms)",
                  "\(first?.latencyMs ?? -1)ms")
    checks.expect(e.attempts.filter { $0.provider == "sim-a" }.count == 1, "a silently timed-out candidate is not retried")
    checks.expect(world.audit.all.count == 1 && world.audit.event(e.requestID) != nil, "exactly one decision event is recorded")
    checks.expect(e.baselineProvider == "sim-a" && e.costDeltaUSD != nil && (e.costDeltaUSD ?? 0) > 0,
                  "the event has the baseline (route's first candidate) and a positive cost delta",
                  "baseline=\(e.baselineProvider ?? "nil") delta=\(e.costDeltaUSD.map(formatUSD) ?? "nil")")
    checks.expect(e.candidates.count == 2 && e.candidates.allSatisfy { $0.score != nil }, "every candidate's score is recorded")
    return DrillReport(name: "golden-path", timeline: world.lines(o), violations: checks.violations, checks: checks.checks)
  }

  /// The primary is down for good: bounded attempts, every request served by the fallback.
  @Sendable static func primaryOutage(_ options: DrillOptions) async throws -> DrillReport {
    let route = DrillWorld.route()
    let nominal = DrillWorld.defaultCircuit
    let world = DrillWorld(
      route: route,
      providers: [
        DrillWorld.provider("sim-a", seed: options.seed) { $0.downWindows = [.zero ..< .seconds(86_400)] },
        DrillWorld.provider("sim-b", seed: options.seed &+ 1),
      ],
      circuit: options.circuit ?? nominal)
    let count = 40
    let outcomes = try await world.traffic(count) { .milliseconds(200 * $0) }
    var checks = DrillChecks()
    let failed = outcomes.filter { (try? $0.result.get()) == nil }
    checks.expect(failed.isEmpty, "every request succeeds", "\(failed.count) failed")
    checks.expect(outcomes.allSatisfy { (try? $0.result.get())?.served == DrillWorld.fallback },
                  "every request is served by the fallback")
    let maxAttempts = outcomes.map { $0.event.attempts.filter { $0.outcome != .skipped }.count }.max() ?? 0
    checks.expect(maxAttempts <= route.retry.maxAttempts, "attempts per request <= max_attempts (\(route.retry.maxAttempts))", "\(maxAttempts)")
    let deadline = route.retry.deadline.milliseconds
    checks.expect(outcomes.allSatisfy { $0.event.totalLatencyMs <= deadline }, "every request ends within its deadline")
    let primaryReasons = Set(outcomes.flatMap { $0.event.attempts }.filter { $0.provider == "sim-a" }.compactMap(\.reason))
    checks.expect(primaryReasons.isSubset(of: [.connectFailed, .circuitOpen]),
                  "the primary's failures carry reason codes connect_failed / circuit_open",
                  primaryReasons.map(\.rawValue).sorted().joined(separator: ","))
    let planned = outcomes.filter { $0.event.candidates.contains { $0.rejection == .circuitOpen } }.count
    checks.expect(planned > 0, "the planner rejects the primary with circuit_open while it is open")
    world.checkCircuitDiscipline(outcomes, ref: DrillWorld.primary, outageEndMs: .infinity, policy: nominal,
                                 maxInFlight: 1, checks: &checks)
    var timeline: [String] = []
    for (i, o) in outcomes.enumerated() where i < 4 || o.event.attempts.contains(where: { $0.probe }) {
      timeline += world.lines(o)
    }
    timeline.append(summaryLine(world, outcomes))
    return DrillReport(name: "primary-outage", timeline: timeline, violations: checks.violations, checks: checks.checks)
  }

  /// 429 storms: short Retry-After is retried in place after waiting; long ones fail
  /// over at once, open the circuit, and floor its cooldown.
  @Sendable static func rateLimitStorm(_ options: DrillOptions) async throws -> DrillReport {
    let route = DrillWorld.route()
    let nominal = DrillWorld.defaultCircuit
    let short = Duration.milliseconds(300), long = Duration.seconds(20)
    let world = DrillWorld(
      route: route,
      providers: [
        DrillWorld.provider("sim-a", seed: options.seed) {
          $0.script = [.init("rate_limited", retryAfter: short), .init("ok")]
            + Array(repeating: .init("rate_limited", retryAfter: long), count: 10)
        },
        DrillWorld.provider("sim-b", seed: options.seed &+ 1),
      ],
      circuit: options.circuit ?? nominal)
    let count = 20
    // The first request (429, wait, retry) is done before the storm starts at t=1s.
    let outcomes = try await world.traffic(count) { $0 == 0 ? .zero : .milliseconds(500 + 500 * $0) }
    var checks = DrillChecks()
    checks.expect(outcomes.allSatisfy { (try? $0.result.get()) != nil }, "every request succeeds")
    let first = outcomes[0].event.attempts
    checks.expect(first.count == 2 && first[1].sameCandidateRetry && first[1].provider == "sim-a" && first[1].outcome == .success,
                  "a 429 with Retry-After <= retry_after_max is retried on the same candidate",
                  first.map { "\($0.provider):\($0.outcome.rawValue)" }.joined(separator: ","))
    if first.count == 2 {
      let waited = first[1].startedOffsetMs - (first[0].startedOffsetMs + first[0].latencyMs)
      checks.expect(waited + 0.5 >= short.milliseconds, "the in-place retry waits out the Retry-After", "\(fmt(waited))ms")
    }
    var badRetries = 0, manyRetries = 0
    for o in outcomes {
      let a = o.event.attempts
      for (p, q) in zip(a, a.dropFirst()) where q.sameCandidateRetry {
        if (p.retryAfterMs ?? .infinity) > route.retry.retryAfterMax.milliseconds { badRetries += 1 }
      }
      if a.filter(\.sameCandidateRetry).count > route.retry.sameCandidateRetries { manyRetries += 1 }
    }
    checks.expect(badRetries == 0, "no in-place retry after a 429 whose Retry-After exceeds retry_after_max", "\(badRetries)")
    checks.expect(manyRetries == 0, "at most same_candidate_retries in-place retries per request", "\(manyRetries)")
    // The first long 429's Retry-After is a not-before time on the key even while the
    // circuit is closed: nothing reaches sim-a for the Retry-After.
    let longFailures = world.attempts(outcomes)
      .filter { $0.attempt.provider == "sim-a" && $0.attempt.reason == .rateLimited && ($0.attempt.retryAfterMs ?? 0) >= long.milliseconds }
      .map { world.start($0.event, $0.attempt) + $0.attempt.latencyMs }.sorted()
    checks.expect(longFailures.count == 1,
                  "the primary sees exactly one long 429: its Retry-After holds even below failure_threshold", "\(longFailures.count)")
    if let firstLong = longFailures.first {
      let during = world.attempts(outcomes).filter {
        $0.attempt.provider == "sim-a" && world.start($0.event, $0.attempt) > firstLong
          && world.start($0.event, $0.attempt) < firstLong + long.milliseconds
      }
      checks.expect(during.isEmpty, "Retry-After is a floor: no attempt on the primary for \(Int(long.milliseconds))ms",
                    "\(during.count) attempt(s)")
      let rejected = outcomes.filter { world.ms(wall: $0.event.timestampMs) > firstLong }
        .allSatisfy { $0.event.candidates.first?.rejection == .circuitOpen }
      checks.expect(rejected, "later requests see the primary rejected (circuit_open: not before its Retry-After)")
    }
    var timeline: [String] = []
    for o in outcomes.prefix(6) { timeline += world.lines(o) }
    timeline.append(summaryLine(world, outcomes))
    return DrillReport(name: "rate-limit-storm", timeline: timeline, violations: checks.violations, checks: checks.checks)
  }

  /// Down, then healthy: fallback meanwhile, probes, back on the primary soon after.
  @Sendable static func flappingPrimary(_ options: DrillOptions) async throws -> DrillReport {
    let route = DrillWorld.route()
    let nominal = DrillWorld.defaultCircuit
    let recovery = Duration.seconds(5)
    let world = DrillWorld(
      route: route,
      providers: [
        DrillWorld.provider("sim-a", seed: options.seed) { $0.downWindows = [.zero ..< recovery] },
        DrillWorld.provider("sim-b", seed: options.seed &+ 1),
      ],
      circuit: options.circuit ?? nominal)
    let interval = 250
    let outcomes = try await world.traffic(60) { .milliseconds(interval * $0) }
    var checks = DrillChecks()
    checks.expect(outcomes.allSatisfy { (try? $0.result.get()) != nil }, "every request succeeds")
    let recoveryMs = recovery.milliseconds
    let servedDuring = outcomes.filter { world.ms(wall: $0.event.timestampMs) < recoveryMs }
      .compactMap { try? $0.result.get().served }
    checks.expect(servedDuring.allSatisfy { $0 == DrillWorld.fallback }, "while the primary is down, the fallback serves")
    let probes = world.attempts(outcomes).filter { $0.attempt.provider == "sim-a" && $0.attempt.probe }
    checks.expect(!probes.isEmpty, "the primary is probed while its circuit is open")
    let back = outcomes.first { o in
      world.ms(wall: o.event.timestampMs) >= recoveryMs && (try? o.result.get().served) == DrillWorld.primary
    }
    let backAt = back.map { world.ms(wall: $0.event.timestampMs) } ?? .infinity
    let limit = recoveryMs + nominal.maxCooldown.milliseconds + Double(interval)
    checks.expect(backAt <= limit, "traffic is back on the primary within max_cooldown of recovery (by t=\(fmt(limit))ms)",
                  backAt.isFinite ? "back at t=\(fmt(backAt))ms" : "never back")
    // Requests that arrive after the probe that closed the circuit came back.
    let closedAt = back.map { world.ms(wall: $0.event.timestampMs) + $0.event.totalLatencyMs } ?? .infinity
    let after = outcomes.filter { world.ms(wall: $0.event.timestampMs) > closedAt }
    checks.expect(after.allSatisfy { (try? $0.result.get().served) == DrillWorld.primary },
                  "once back, the primary keeps serving", "\(after.filter { (try? $0.result.get().served) != DrillWorld.primary }.count) not")
    checks.expect(world.router.health.snapshot(now: world.clock.now()).allSatisfy { $0.state == "closed" },
                  "the primary's circuit ends closed")
    world.checkCircuitDiscipline(outcomes, ref: DrillWorld.primary, outageEndMs: recoveryMs, policy: nominal,
                                 maxInFlight: 1, checks: &checks)
    var timeline: [String] = []
    for o in outcomes {
      let interesting = o.event.attempts.contains { $0.provider == "sim-a" }
      if interesting && world.ms(wall: o.event.timestampMs) <= backAt { timeline += world.lines(o) }
    }
    if backAt.isFinite { timeline.append("t=\(fmt(backAt))ms primary=\(DrillWorld.primary) serving_again") }
    timeline.append(summaryLine(world, outcomes))
    return DrillReport(name: "flapping-primary", timeline: timeline, violations: checks.violations, checks: checks.checks)
  }

  /// 500 requests in waves during an outage: no herd on the dead provider.
  @Sendable static func thunderingHerd(_ options: DrillOptions) async throws -> DrillReport {
    let route = DrillWorld.route()
    let nominal = DrillWorld.defaultCircuit
    let outage = Duration.seconds(10)
    let world = DrillWorld(
      route: route,
      providers: [
        DrillWorld.provider("sim-a", seed: options.seed) { $0.downWindows = [.zero ..< outage] },
        DrillWorld.provider("sim-b", seed: options.seed &+ 1),
      ],
      circuit: options.circuit ?? nominal)
    let waves = 50, perWave = 10
    let outcomes = try await world.traffic(waves * perWave) { .milliseconds(200 * ($0 / perWave)) }
    var checks = DrillChecks()
    let failed = outcomes.filter { (try? $0.result.get()) == nil }.count
    checks.expect(failed == 0, "every request succeeds on the fallback", "\(failed) failed")
    let onPrimary = world.attempts(outcomes).filter { $0.attempt.provider == "sim-a" }
    world.checkCircuitDiscipline(outcomes, ref: DrillWorld.primary, outageEndMs: outage.milliseconds, policy: nominal,
                                 maxInFlight: perWave, checks: &checks)
    let openings = world.router.health.snapshot(now: world.clock.now()).map(\.openings).max() ?? 0
    let probes = onPrimary.filter { $0.attempt.probe }.count
    checks.expect(openings <= probes + 1, "a burst of in-flight failures opens the circuit once (openings <= probes + 1)",
                  "openings=\(openings) probes=\(probes)")
    var timeline: [String] = []
    for o in outcomes where o.event.attempts.contains(where: { $0.provider == "sim-a" }) {
      timeline += world.lines(o).filter { $0.contains("sim-a") || $0.contains("fallback=") }
    }
    timeline.append("requests=\(outcomes.count) attempts_on_dead_provider=\(onPrimary.count) probes=\(probes)")
    timeline.append(summaryLine(world, outcomes))
    return DrillReport(name: "thundering-herd", timeline: timeline, violations: checks.violations, checks: checks.checks)
  }

  static func summaryLine(_ world: DrillWorld, _ outcomes: [RoutedOutcome]) -> String {
    var served: [String: Int] = [:]
    var failed: [String: Int] = [:]
    for o in outcomes {
      switch o.result {
      case .success(let r): served[r.served.description, default: 0] += 1
      case .failure(let e): failed[e.reason.rawValue, default: 0] += 1
      }
    }
    let s = served.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
    var line = "t=\(fmt(world.clock.now().duration(since: Instant(nanoseconds: 0)).milliseconds))ms summary requests=\(outcomes.count) served=\(s.isEmpty ? "none" : s)"
    if !failed.isEmpty { line += " failed=" + failed.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",") }
    line += " decision_events=\(world.audit.all.count)"
    return line
  }
}
