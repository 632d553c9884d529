/// The executor's budget side: settling an attempt's reservation with what it
/// consumed (``AttemptCharge``), recorded on the attempt and the run. Kept apart
/// from the attempt loop so that loop only calls in.
extension RequestExecutor {
  /// Settles `reservation` with `amount` and notes it on the last attempt record.
  @inline(never) func settle(_ reservation: BudgetReservation, _ amount: MicroUSD, _ run: inout Run) async {
    var record = run.attempts[run.attempts.count - 1]
    let r = await AttemptCharge.settle(ledger, reservation, amount: amount, wallMillis: clock.wallMillis(), record: &record)
    run.totalSpend += r.charged
    run.overage += r.overage
    if r.overage > .zero { run.warnings.append("budget_overage:\(reservation.amount)+\(r.overage)") }
    run.attempts[run.attempts.count - 1] = record
  }

  /// Settles a failed, cut or cancelled attempt with what it consumed (nil failure: cancelled).
  @inline(never) func settleFailed(_ reservation: BudgetReservation, _ candidate: PlannedCandidate, _ failure: ProviderFailure?,
                    _ stream: AttemptStream.S, _ run: inout Run) async {
    let (amount, usage) = AttemptCharge.failed(failure: failure ?? ProviderFailure(.cancelled), info: candidate.info,
                                               inputEstimate: plan.estimatedInputTokens, deliveredText: stream.text,
                                               deliveredDeltas: stream.deltas)
    run.attempts[run.attempts.count - 1].usage = usage
    run.attempts[run.attempts.count - 1].costUSD = amount.usd
    await settle(reservation, amount, &run)
  }
}
