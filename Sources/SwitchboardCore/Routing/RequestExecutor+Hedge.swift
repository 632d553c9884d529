import Synchronization

/// The executor's hedging shell: runs an attempt and, when the route hedges and
/// no first token came within the delay, the next eligible candidate in parallel,
/// in one task group. What to do at each step is the pure
/// ``AttemptStateMachine/hedgeDecision(_:)`` and ``AttemptStateMachine/HedgeRace``;
/// this side reserves, cancels, settles and records. The outcome that ends the
/// race goes back to the attempt loop like a single attempt's; every other attempt
/// of the race is recorded and settled here (a loser is not a provider failure).
extension RequestExecutor {
  /// What a child of the race reports.
  enum SlotEvent: Sendable {
    /// A hedge timer ended: fired (the delay passed) or was cancelled.
    case timer(fired: Bool)
    /// An attempt ended.
    case done(slot: Int, outcome: AttemptOutcome)
  }

  /// Runs `primary` (already counted, begun and reserved) as a race with up to the
  /// route's remaining hedges; returns the attempt that ended the race and its outcome.
  @inline(never) func hedgedAttempt(_ primary: AttemptContext, adapter: any ProviderAdapter, policy: HedgePolicy, position: Int,
                                    _ limits: RunLimits, run: inout Run) async -> (AttemptContext, AttemptOutcome) {
    let overallDeadline = limits.overallDeadline, start = limits.start
    let observed = stats.observation(primary.candidate.ref)
    let delay = policy.delay(observedP95: observed.firstTokenP95, samples: observed.firstTokenSamples)
    let gate = HedgeGate(clock: clock)
    let clock = self.clock
    let executor = self
    var contexts: [AttemptContext] = []

    return await withTaskGroup(of: SlotEvent.self, returning: (AttemptContext, AttemptOutcome).self) { group in
      var outstanding = 0
      func launch(_ ctx: AttemptContext, _ adapter: any ProviderAdapter) {
        let (slot, signal) = gate.start()
        contexts.append(ctx)
        outstanding += 1
        clock.parallelWorkChanged(by: 1)
        group.addTask {
          let outcome = await signal.run {
            await executor.attempt(ctx.candidate, key: ctx.key, adapter: adapter, number: ctx.number, prefill: ctx.prefill,
                                   stream: ctx.stream, overallDeadline: overallDeadline, gate: gate, slot: slot)
          }
          return .done(slot: slot, outcome: outcome)
        }
      }
      func armTimer() {
        let timer = gate.newTimer()
        outstanding += 1
        clock.parallelWorkChanged(by: 1)
        group.addTask {
          let fired = await timer.run { () async -> Bool in
            do { try await clock.sleep(for: delay); return true } catch { return false }
          }
          return .timer(fired: fired && !timer.isRequested)
        }
      }

      launch(primary, adapter)
      armTimer()
      var decisive: (slot: Int, outcome: AttemptOutcome)?
      while outstanding > 0 {
        // Waiting: this task is idle; a child that ends hands its unit of work back to it.
        clock.parallelWorkChanged(by: -1)
        guard let event = await group.next() else { clock.parallelWorkChanged(by: 1); break }
        outstanding -= 1
        switch event {
        case .timer(let fired):
          guard fired, !gate.isDecided, !Task.isCancelled else { continue }
          if run.hedge == nil { run.hedge = HedgeRecord(delayMs: delay.milliseconds) }
          let found = nextHedgeCandidate(after: position, excluding: Set(contexts.map(\.candidate.ref)), run: run)
          let state = AttemptStateMachine.HedgeState(
            hedgesStarted: run.hedgesStarted, maxExtra: policy.maxExtra, attempts: run.attemptCount, maxAttempts: limits.maxAttempts,
            now: clock.now(), deadline: overallDeadline, firstTokenSeen: gate.isDecided, resuming: primary.prefill != nil,
            retryPermitted: retryBudgets.isRetryPermitted(primary.candidate.ref.provider), candidateAvailable: found != nil)
          switch limits.machine.hedgeDecision(state) {
          case .skip(let why):
            run.hedge?.refused.append(why.rawValue)
          case .hedge:
            let next = found!
            // A hedge reserves its own worst case; the running attempt keeps its reservation.
            let worst = ReservationEstimator.attemptAmount(next.candidate, delivered: "")
            switch await ledger.reserve(worst, scopes: scopes, requestID: requestID, wallMillis: clock.wallMillis()) {
            case .denied(let scope, let remaining):
              refuseHedge(next, of: primary, "hedge refused: \(scope): worst case \(worst) > remaining \(remaining) beside the running attempt",
                          start: start, run: &run)
            case .unavailable(let why):
              refuseHedge(next, of: primary, "hedge refused: the budget ledger is unavailable: \(why)", start: start, run: &run)
            case .reserved(let reservation, let soft):
              if gate.isDecided || Task.isCancelled {
                await ledger.release(reservation)  // decided while reserving: nothing started
                continue
              }
              for s in soft where !run.warnings.contains(where: { $0.hasPrefix("soft_budget_exceeded:\(s)") }) {
                run.warnings.append("soft_budget_exceeded:\(s)")
              }
              run.attemptCount += 1
              run.hedgesStarted += 1
              run.hedge?.started += 1
              // A hedge is a retry for the retry budget of the request's provider.
              retryBudgets.spend(primary.candidate.ref.provider)
              stats.begin(next.candidate.ref)
              let ctx = AttemptContext(candidate: next.candidate, key: next.key, circuit: next.circuit, probe: false,
                                       reservation: reservation, number: run.attemptCount, start: clock.now(),
                                       stream: AttemptStream(), prefill: nil, sameCandidateRetry: false, hedgeOf: primary.number)
              launch(ctx, next.adapter)
              if run.hedgesStarted < policy.maxExtra { armTimer() }
            }
          }

        case .done(let slot, let outcome):
          let how: AttemptStateMachine.HedgeRace.Ending
          switch outcome {
          case .success: how = .success
          case .failure: how = .failure
          case .cancelled: how = .cancelled
          }
          switch gate.ended(slot, how) {
          case .decisive:
            decisive = (slot, outcome)
          case .loser:
            await settleLoser(contexts[slot], outcome, lost: !Task.isCancelled, start: start, run: &run)
          case .failedOthersContinue:
            if case .failure(let f, let consumed) = outcome {
              let ctx = contexts[slot]
              let latency = clock.now().duration(since: ctx.start)
              _ = await recordFailure(ctx, f, consumed: consumed, latency: latency, stream: ctx.stream.state.withLock { $0 },
                                      start: start, run: &run)
              if ctx.hedgeOf != nil { run.hedgeFailed.insert(ctx.candidate.ref) }
            }
          }
        }
      }
      guard let decisive else { return (primary, .cancelled) }
      return (contexts[decisive.slot], decisive.outcome)
    }
  }

  /// A candidate a hedge can go to.
  struct HedgeTarget {
    var candidate: PlannedCandidate
    var key: ResolvedKey
    var circuit: CircuitKey
    var adapter: any ProviderAdapter
  }

  /// The next eligible candidate after plan position `position` for a hedge: not in
  /// the race already, not failed, with a key whose circuit is closed (never open
  /// or half-open), whose provider's retry budget permits a retry.
  func nextHedgeCandidate(after position: Int, excluding: Set<CandidateRef>, run: Run) -> HedgeTarget? {
    guard position + 1 < plan.ordered.count else { return nil }
    for candidate in plan.ordered[(position + 1)...] {
      if excluding.contains(candidate.ref) || run.hedgeFailed.contains(candidate.ref) { continue }
      if let minWindow = run.minContextWindow, candidate.info.contextWindow <= minWindow { continue }
      guard let adapter = adapters[candidate.ref.provider] else { continue }
      guard retryBudgets.isRetryPermitted(candidate.ref.provider) else { continue }
      var pool = keys.keys(for: candidate.ref.provider, override: request.keyOverrides[candidate.ref.provider])
      if pool.isEmpty {
        if adapter.requiresKey { continue }
        pool = [.none]
      }
      for key in pool {
        let circuit = CircuitKey(candidate.ref, keyFingerprint: key.fingerprint)
        switch health.admit(circuit, now: clock.now()) {
        case .allowed: return HedgeTarget(candidate: candidate, key: key, circuit: circuit, adapter: adapter)
        case .probe: health.releaseProbe(circuit)  // half-open: the probe is not a hedge's to spend
        case .rejected: break
        }
      }
    }
    return nil
  }

  /// Records a hedge refused for budget: a skipped hedge attempt with the reason; the running attempt continues.
  func refuseHedge(_ target: HedgeTarget, of primary: AttemptContext, _ message: String, start: Instant, run: inout Run) {
    var record = skipped(target.candidate.ref, .budgetViolation, message, start: start, key: target.key, failureClass: .semantic)
    record.hedge = true
    record.hedgeOf = primary.number
    run.attempts.append(record)
    run.hedge?.refused.append(AttemptStateMachine.HedgeSkip.budget.rawValue)
  }

  /// Settles an attempt that lost the race (or was cancelled with the request) for
  /// what it consumed: its reported usage, else the input estimate plus what it
  /// streamed. Not a provider failure: the circuit and reliability are untouched.
  @inline(never) func settleLoser(_ ctx: AttemptContext, _ outcome: AttemptOutcome, lost: Bool, start: Instant, run: inout Run) async {
    let latency = clock.now().duration(since: ctx.start)
    let s = ctx.stream.state.withLock { $0 }
    if ctx.probe { health.releaseProbe(ctx.circuit) }
    stats.abandon(ctx.candidate.ref)
    // It had no first token for `latency`: a lower bound that keeps the p95 honest.
    if lost, s.firstTokenAt == nil { stats.recordFirstToken(ctx.candidate.ref, latency) }
    let message = lost ? "lost the hedge race: another attempt delivered its first token first" : "cancelled by the client"
    var record = failedRecord(ctx.number, ctx.candidate, ctx.key, ProviderFailure(.cancelled, message: message),
                              attemptStart: ctx.start, start: start, latency: latency, stream: s, retry: ctx.sameCandidateRetry,
                              probe: ctx.probe)
    if ctx.hedgeOf != nil { record.hedge = true; record.hedgeOf = ctx.hedgeOf }
    if lost { record.hedgeLost = true; record.failureClass = nil }  // not a failure of the provider
    run.attempts.append(record)
    switch outcome {
    case .success(let response):
      // Finished after another attempt won: the provider billed the whole answer.
      let usage = response.usage == .zero
        ? Usage(inputTokens: plan.estimatedInputTokens, outputTokens: TokenEstimator.estimateTokens(response.content)) : response.usage
      run.attempts[run.attempts.count - 1].usage = usage
      run.attempts[run.attempts.count - 1].costUSD = ctx.candidate.info.cost(of: usage)?.total
      await settle(ctx.reservation, AttemptCharge.success(usage: usage, info: ctx.candidate.info), &run)
    case .failure(var f, let consumed):
      if let consumed, f.usage == nil { f.usage = consumed }
      await settleFailed(ctx.reservation, ctx.candidate, f, s, &run)
    case .cancelled:
      await settleFailed(ctx.reservation, ctx.candidate, nil, s, &run)
    }
  }

  /// Fills in the hedge record's winner and extra cost (the charges of race losers
  /// and of hedges that did not serve the answer).
  func finishHedgeRecord(_ run: inout Run, winner: Int?, winnerIsHedge: Bool) {
    guard var h = run.hedge else { return }
    if let winner { h.winnerAttempt = winner; h.winnerIsHedge = winnerIsHedge }
    h.extraCostMicroUSD = run.attempts
      .filter { $0.outcome != .skipped && ($0.hedgeLost == true || ($0.hedge == true && $0.index != h.winnerAttempt)) }
      .reduce(0) { $0 + ($1.chargedMicroUSD ?? 0) }
    run.hedge = h
  }
}
