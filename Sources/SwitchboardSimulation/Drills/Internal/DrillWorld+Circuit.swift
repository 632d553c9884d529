import SwitchboardCore
extension DrillWorld {
  /// Checks the breaker's discipline on `ref` while it was failing (attempts that
  /// started before `outageEndMs`): once `policy.failureThreshold` failures have
  /// come back, only probes reach it, one at a time, at least one minimum cooldown
  /// apart; so the attempts it took are bounded by those already in flight when it
  /// opened (`maxInFlight`) plus one probe per cooldown interval.
  ///
  /// `policy` is the drill's nominal policy, not necessarily the router's: a run
  /// with a broken breaker is measured against what the drill expects.
  func checkCircuitDiscipline(_ outcomes: [RoutedOutcome], ref: CandidateRef, outageEndMs: Double, policy: CircuitPolicy,
                              maxInFlight: Int, checks: inout DrillChecks) {
    let all = attempts(outcomes)
      .filter { $0.attempt.provider == ref.provider && $0.attempt.model == ref.model }
      .map { (start: start($0.event, $0.attempt), end: start($0.event, $0.attempt) + $0.attempt.latencyMs, a: $0.attempt,
              id: $0.event.requestID) }
      .filter { $0.start < outageEndMs }
      .sorted { $0.start < $1.start }
    let failureEnds = all.filter { $0.a.outcome == .failed }.map(\.end).sorted()
    let threshold = max(1, policy.failureThreshold)
    let openAt = failureEnds.count >= threshold ? failureEnds[threshold - 1] : Double.infinity
    let before = all.filter { $0.start <= openAt }
    let after = all.filter { $0.start > openAt }
    let probes = after.filter { $0.a.probe }
    let intruders = after.filter { !$0.a.probe }
    let minCooldownMs = min(policy.baseCooldown.milliseconds * (1 - policy.jitter), policy.maxCooldown.milliseconds)
    // The window that can hold probes ends with the outage or with the last attempt seen.
    let windowEnd = min(outageEndMs, all.last?.start ?? 0)
    let window = openAt.isFinite ? max(0, windowEnd - openAt) : 0
    let probeBound = Int((window / max(1, minCooldownMs)).rounded(.up)) + 1
    let inFlightBound = threshold + maxInFlight

    checks.expect(intruders.isEmpty,
                  "only probes reach \(ref) once its circuit has opened",
                  "\(intruders.count) non-probe attempt(s) after t=\(fmt(openAt))ms, first \(intruders.first.map { "\($0.id) at t=\(fmt($0.start))ms" } ?? "")")
    checks.expect(before.count <= inFlightBound,
                  "requests reaching \(ref) before its circuit opened <= failure_threshold + in flight (\(inFlightBound))",
                  "\(before.count)")
    checks.expect(probes.count <= probeBound,
                  "probes of \(ref) <= one per minimum cooldown (\(probeBound))", "\(probes.count)")
    var overlapping = 0, early = 0
    for (p, q) in zip(probes, probes.dropFirst()) {
      if q.start < p.end { overlapping += 1 }
      if q.start + 0.5 < p.end + minCooldownMs { early += 1 }
    }
    checks.expect(overlapping == 0, "exactly one probe of \(ref) at a time", "\(overlapping) overlapping probe(s)")
    checks.expect(early == 0, "probes of \(ref) at least \(fmt(minCooldownMs))ms apart", "\(early) early probe(s)")
    checks.expect(all.count <= inFlightBound + probeBound,
                  "attempts reaching \(ref) while it failed <= in flight at opening + one probe per cooldown (\(inFlightBound + probeBound))",
                  "\(all.count)")
  }
}
