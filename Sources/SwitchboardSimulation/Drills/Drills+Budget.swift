import SwitchboardCore
import Synchronization

extension Drills {
  /// Bursts of 100 concurrent requests against a per-tenant daily hard cap.
  @Sendable static func budgetExhausted(_ options: DrillOptions) async throws -> DrillReport {
    var route = DrillWorld.route()
    route.candidates = [CandidateSpec(DrillWorld.fallback)]  // the dear one: the cap bites sooner
    route.budget.perTenantDaily = BudgetLimit(softUSD: 0.02, hardUSD: 0.03)
    let world = DrillWorld(
      route: route,
      providers: [DrillWorld.provider("sim-b", seed: options.seed, p50: 400, p99: 900)],
      circuit: options.circuit ?? DrillWorld.defaultCircuit)
    let hard = route.budget.perTenantDaily.hard!
    let scopeKey = "route:\(route.name)/tenant:\(DrillWorld.tenant)"
    let watch = LedgerWatch()
    let ledger = world.ledger, clock = world.clock
    let waves = 6, perWave = 100
    // One extra task samples the ledger every 5ms of virtual time while the traffic runs.
    let horizon = Duration.milliseconds(2000 * waves)
    let router = world.router
    let results: [RoutedOutcome?] = try await world.driver.run(waves * perWave + 1) { i in
      if i == waves * perWave {
        while clock.now() < Instant(nanoseconds: 0).advanced(by: horizon) {
          watch.sample(ledger.snapshotNow(wallMillis: clock.wallMillis()).first { $0.scope == scopeKey })
          try await clock.sleep(for: .milliseconds(5))
        }
        return nil
      }
      try await clock.sleep(until: Instant(nanoseconds: 0).advanced(by: .milliseconds(2000 * (i / perWave))))
      let outcome = await router.complete(DrillWorld.request(i))
      watch.sample(ledger.snapshotNow(wallMillis: clock.wallMillis()).first { $0.scope == scopeKey })
      return outcome
    }
    let outcomes = results.compactMap { $0 }
    var checks = DrillChecks()
    let final = ledger.snapshotNow(wallMillis: clock.wallMillis()).first { $0.scope == scopeKey }
    let spent = final?.spent ?? .zero
    checks.expect(watch.maxCommitted <= hard,
                  "spent + reserved never exceeds the hard cap (\(hard))", "peak \(watch.maxCommitted)")
    checks.expect(spent <= hard, "settled spend <= the hard cap", "\(spent)")
    checks.expect(final?.reserved == .zero, "every reservation is settled", "\(final?.reserved ?? MicroUSD(-1))")
    let eventSpend = outcomes.reduce(MicroUSD.zero) { $0 + MicroUSD($1.event.totalSpendMicroUSD ?? 0) }
    checks.expect(eventSpend == spent, "decision events account for the ledger's spend exactly",
                  "events \(eventSpend) vs ledger \(spent)")
    let refused = outcomes.filter {
      if case .failure(let e) = $0.result { return [.budgetViolation, .budgetExhausted].contains(e.reason) } else { return false }
    }
    let ok = outcomes.filter { (try? $0.result.get()) != nil }
    checks.expect(!refused.isEmpty && !ok.isEmpty, "the cap bites: some requests are served, later ones refused",
                  "served=\(ok.count) refused=\(refused.count)")
    checks.expect(refused.allSatisfy { if case .failure(let e) = $0.result { return e.code == .resourceExhausted } else { return false } },
                  "refusals are resource_exhausted with budget_violation / budget_exhausted")
    checks.expect(outcomes.contains { $0.event.warnings.contains { $0.hasPrefix("soft_budget_exceeded:") } },
                  "crossing the soft cap puts soft_budget_exceeded in the decision event")
    let calls = world.providers["sim-b"]?.calls.count ?? -1
    checks.expect(calls == ok.count, "a refused reservation never reaches the provider", "\(calls) calls for \(ok.count) served")
    var timeline: [String] = []
    var shown = Set<String>()
    for o in outcomes {
      let tag: String
      switch o.result {
      case .success: tag = o.event.warnings.isEmpty ? "ok" : "ok+warning"
      case .failure(let e): tag = e.reason.rawValue
      }
      if shown.insert(tag).inserted { timeline += world.lines(o) }
    }
    timeline.append("budget scope=\(scopeKey) hard=\(hard) soft=\(route.budget.perTenantDaily.soft ?? .zero) spent=\(spent) peak_committed=\(watch.maxCommitted)")
    timeline.append(summaryLine(world, outcomes))
    return DrillReport(name: "budget-exhausted", timeline: timeline, violations: checks.violations, checks: checks.checks)
  }
}

/// The highest spent + reserved seen in a scope.
final class LedgerWatch: Sendable {
  private let peak = Mutex(MicroUSD.zero)
  func sample(_ s: BudgetSnapshot?) {
    guard let s else { return }
    peak.withLock { $0 = max($0, s.spent + s.reserved) }
  }
  var maxCommitted: MicroUSD { peak.withLock { $0 } }
}
