import SwitchboardCore

extension Drills {
  /// The route's hard cap in `hedged-tail` (USD per day, route scope).
  static let hedgedTailCapUSD = 0.025

  /// A primary with a heavy latency tail (4% of its answers take 10x): with
  /// `hedge: {after_ms: p95}`, the p99 of served latency improves while the spend
  /// stays within the route's hard cap. Runs the same traffic without hedging as
  /// the control; `DrillOptions(hedging: false)` runs both without, and fails.
  @Sendable static func hedgedTail(_ options: DrillOptions) async throws -> DrillReport {
    let count = 400
    let (controlWorld, control) = try await hedgedTailScenario(options, hedging: false, count: count)
    let (world, hedged) = try await hedgedTailScenario(options, hedging: options.hedging, count: count)
    var checks = DrillChecks()
    checkHedgedTail(world, hedged, control: control, capUSD: hedgedTailCapUSD, checks: &checks)

    var timeline: [String] = []
    for o in hedged.filter({ ($0.event.hedge?.started ?? 0) > 0 }).prefix(3) { timeline += world.lines(o) }
    let pc = percentile(control.map(\.event.totalLatencyMs), 0.99), ph = percentile(hedged.map(\.event.totalLatencyMs), 0.99)
    let p50c = percentile(control.map(\.event.totalLatencyMs), 0.5), p50h = percentile(hedged.map(\.event.totalLatencyMs), 0.5)
    let spendC = control.map { $0.event.totalSpendMicroUSD ?? 0 }.reduce(0, +)
    let spendH = hedged.map { $0.event.totalSpendMicroUSD ?? 0 }.reduce(0, +)
    let extra = hedged.compactMap { $0.event.hedge?.extraCostMicroUSD }.reduce(0, +)
    let started = hedged.compactMap { $0.event.hedge?.started }.reduce(0, +)
    let won = hedged.filter { $0.event.hedge?.winnerIsHedge == true }.count
    let refused = hedged.flatMap { $0.event.hedge?.refused ?? [] }
    let refusedText = refused.isEmpty ? "0"
      : Dictionary(grouping: refused, by: { $0 }).sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.count)" }.joined(separator: ",")
    timeline.append("control (no hedge): requests=\(count) p50_ms=\(fmt(p50c)) p99_ms=\(fmt(pc)) spend_usd=\(formatUSD(MicroUSD(spendC).usd))")
    timeline.append("hedged: requests=\(count) p50_ms=\(fmt(p50h)) p99_ms=\(fmt(ph)) spend_usd=\(formatUSD(MicroUSD(spendH).usd)) "
      + "hedges=\(started) hedge_wins=\(won) refused=\(refusedText) extra_cost_usd=\(formatUSD(MicroUSD(extra).usd)) "
      + "cap_usd=\(formatUSD(hedgedTailCapUSD))")
    timeline.append(summaryLine(world, hedged))
    _ = controlWorld
    return DrillReport(name: "hedged-tail", timeline: timeline, violations: checks.violations, checks: checks.checks)
  }

  /// The traffic of `hedged-tail`: `count` unary requests 50 ms apart on a primary whose
  /// answers take 10x in 4% of cases, with a dearer, steadier fallback.
  static func hedgedTailScenario(_ options: DrillOptions, hedging: Bool, count: Int) async throws -> (DrillWorld, [RoutedOutcome]) {
    var route = DrillWorld.route()
    route.retry.maxAttempts = 3
    route.timeouts.attempt = .seconds(8)  // the tail is slow, not failed: it would be served, late
    route.timeouts.firstToken = .seconds(8)
    route.budget.perRoute.daily = BudgetLimit(softUSD: nil, hardUSD: hedgedTailCapUSD)
    if hedging { route.hedge = HedgePolicy(delay: .p95, maxExtra: 1) }
    let world = DrillWorld(
      route: route,
      providers: [
        DrillWorld.provider("sim-a", seed: options.seed, p50: 200, p99: 400) { $0.faults = [.init("slow", rate: 0.04)] },
        DrillWorld.provider("sim-b", seed: options.seed &+ 1, p50: 250, p99: 500),
      ],
      circuit: options.circuit ?? DrillWorld.defaultCircuit, retryBudget: options.retryBudget ?? .init())
    let outcomes = try await world.traffic(count) { .milliseconds(50 * $0) }
    return (world, outcomes)
  }

  /// The checks of `hedged-tail` on any pair of traces (the tests feed it a trace without hedging).
  static func checkHedgedTail(_ world: DrillWorld, _ outcomes: [RoutedOutcome], control: [RoutedOutcome], capUSD: Double,
                              checks: inout DrillChecks) {
    checks.expect(outcomes.allSatisfy { (try? $0.result.get()) != nil }, "every request succeeds")
    let p99 = percentile(outcomes.map(\.event.totalLatencyMs), 0.99)
    let p99Control = percentile(control.map(\.event.totalLatencyMs), 0.99)
    checks.expect(p99 <= p99Control / 2, "hedging at least halves the p99 of served latency",
                  "p99 \(fmt(p99)) ms vs \(fmt(p99Control)) ms without hedging")
    checks.expect(p99 < 1500, "p99 of served latency stays under 1.5 s (the primary's tail takes 2 s and more)", "\(fmt(p99)) ms")
    let spent = world.ledger.snapshotNow(wallMillis: world.clock.wallMillis())
      .filter { $0.scope == "route:\(DrillWorld.routeName)" }.map(\.spent).reduce(MicroUSD.zero, +)
    checks.expect(spent <= MicroUSD(usd: capUSD), "spend stays within the route's hard cap", "\(spent) > \(capUSD)")
    let charged = outcomes.map { $0.event.totalSpendMicroUSD ?? 0 }.reduce(0, +)
    let extra = outcomes.compactMap { $0.event.hedge?.extraCostMicroUSD }.reduce(0, +)
    checks.expect(Double(extra) <= Double(charged) * 0.1, "what hedging wastes (losers, unused hedges) stays under 10% of the spend",
                  "\(extra) of \(charged) micro-USD")
    checks.expect(charged == spent.value, "every attempt, losers included, is charged to the ledger", "\(charged) vs \(spent.value)")
    checks.expect(world.ledger.openReservations.isEmpty, "no reservation is left open (losers settled)",
                  "\(world.ledger.openReservations.count) open")
    checks.expect(outcomes.allSatisfy { ($0.event.hedge?.started ?? 0) <= 1 }, "at most max_extra (1) hedge per request")
    let hedgeAttempts = outcomes.flatMap { $0.event.attempts.filter { $0.hedge == true && $0.outcome != .skipped } }
    checks.expect(hedgeAttempts.count <= outcomes.count / 10, "hedges stay within the retry budget (about a tenth of the load)",
                  "\(hedgeAttempts.count) hedges for \(outcomes.count) requests")
    let opened = world.router.health.snapshot(now: world.clock.now()).filter { $0.openings > 0 }
    checks.expect(opened.isEmpty, "cancelled hedge losers never count as provider failures (no circuit opens)",
                  opened.map(\.key.description).joined(separator: ","))
    let lostWithoutCharge = outcomes.flatMap(\.event.attempts).filter { $0.hedgeLost == true && $0.chargedMicroUSD == nil }
    checks.expect(lostWithoutCharge.isEmpty, "every hedge loser is settled for what it consumed")
    let explained = outcomes.filter { ($0.event.hedge?.started ?? 0) > 0 }.allSatisfy { o in
      o.event.hedge?.winnerAttempt != nil && o.event.attempts.contains { $0.hedge == true }
    }
    checks.expect(explained, "each hedged request's decision event names the winner and the hedge")
  }

  /// The `q` quantile (nearest rank) of `values`; 0 for none.
  static func percentile(_ values: [Double], _ q: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let rank = Int((Double(sorted.count) * q).rounded(.up)) - 1
    return sorted[min(sorted.count - 1, max(0, rank))]
  }
}
