import Synchronization

/// Runs one request through its plan: the async shell around
/// `AttemptStateMachine`. It checks each candidate and key, reserves budget
/// before an attempt and settles it after the outcome, runs the attempt, reports
/// the outcome to the circuit, stats, strategy and retry budget, and then does
/// what the state machine decides (retry in place after a wait, next key, next
/// candidate, or stop). Assembles the decision event's attempts. One instance per request.
///
/// A class: its async functions hold `self` in their frames, which live on the
/// task's heap while the call is in flight; as a struct, each held a copy of the
/// route, request and plan (several KB per frame per call in flight). For the
/// same reason the helpers that run outside the attempt's wait (recording,
/// settling, the final error) are `@inline(never)`: inlined, their values would
/// widen `run`'s frame for the whole call.
final class RequestExecutor: Sendable {
  let requestID: String
  let route: RoutePolicy
  let strategy: any RoutingStrategy
  let request: ChatRequest
  let plan: Plan
  let catalog: ModelCatalog
  let adapters: [String: any ProviderAdapter]
  let health: HealthBoard
  let stats: CandidateStatsBoard
  let retryBudgets: RetryBudgetBoard
  let random: SeededRandom
  let ledger: any BudgetLedger
  let keys: KeyResolver
  let clock: any RouterClock
  let scopes: [BudgetScope]
  let sink: CompletionSink?

  init(requestID: String, route: RoutePolicy, strategy: any RoutingStrategy, request: ChatRequest, plan: Plan,
       catalog: ModelCatalog, adapters: [String: any ProviderAdapter], health: HealthBoard, stats: CandidateStatsBoard,
       retryBudgets: RetryBudgetBoard, random: SeededRandom, ledger: any BudgetLedger, keys: KeyResolver,
       clock: any RouterClock, scopes: [BudgetScope], sink: CompletionSink?) {
    self.requestID = requestID; self.route = route; self.strategy = strategy; self.request = request; self.plan = plan
    self.catalog = catalog; self.adapters = adapters; self.health = health; self.stats = stats
    self.retryBudgets = retryBudgets; self.random = random; self.ledger = ledger; self.keys = keys
    self.clock = clock; self.scopes = scopes; self.sink = sink
  }

  /// Mutable state of the run.
  struct Run {
    var attempts: [AttemptRecord] = []
    var attemptCount = 0
    var lastFailure: ProviderFailure?
    var totalSpend = MicroUSD.zero
    var overage = MicroUSD.zero
    var warnings: [String] = []
    /// The stream text the client holds right now (for `continue`).
    var delivered = ""
    /// The client saw deltas of an attempt that then failed: restart before the next.
    var pendingRestart: (reason: ReasonCode, failed: CandidateRef)?
    /// Terminal error decided inside the loop (propagating failures).
    var terminal: RoutingError?
    var minContextWindow: Int?
    /// The store that answered the last reservation (``StateBackend``).
    var stateBackend: StateBackend?
    /// Hedges started for this request (all races), against the route's `max_extra`.
    var hedgesStarted = 0
    /// What hedging did (set once a hedge delay passed).
    var hedge: HedgeRecord?
    /// Candidates that failed as hedges: the loop does not try them again.
    var hedgeFailed: Set<CandidateRef> = []
  }

  /// One attempt in flight: what it runs on and what it holds. A class: the steps
  /// of the run pass it on and hold it across their awaits, one reference each.
  final class AttemptContext: Sendable {
    let candidate: PlannedCandidate
    let key: ResolvedKey
    let circuit: CircuitKey
    let probe: Bool
    let reservation: BudgetReservation
    let number: Int
    let start: Instant
    let stream: AttemptStream
    let prefill: String?
    let sameCandidateRetry: Bool
    /// Started as a hedge of attempt `hedgeOf`.
    let hedgeOf: Int?

    init(candidate: PlannedCandidate, key: ResolvedKey, circuit: CircuitKey, probe: Bool, reservation: BudgetReservation,
         number: Int, start: Instant, stream: AttemptStream, prefill: String?, sameCandidateRetry: Bool, hedgeOf: Int?) {
      self.candidate = candidate; self.key = key; self.circuit = circuit; self.probe = probe; self.reservation = reservation
      self.number = number; self.start = start; self.stream = stream; self.prefill = prefill
      self.sameCandidateRetry = sameCandidateRetry; self.hedgeOf = hedgeOf
    }
  }

  /// Streamed state of one attempt, shared with the delta callback.
  final class AttemptStream: Sendable {
    struct S { var firstTokenAt: Instant?; var text = ""; var deliveredAny = false; var deltas = 0 }
    let state = Mutex(S())
  }

  /// How one attempt ended.
  enum AttemptOutcome: Sendable {
    case success(ProviderResponse)
    /// A failure; `consumed` is the usage the provider billed for it (a 200 whose
    /// answer was stopped by a content filter), nil when unknown.
    case failure(ProviderFailure, consumed: Usage?)
    case cancelled
  }

  /// What stays fixed for the whole run.
  struct RunLimits {
    let start: Instant
    let overallDeadline: Instant
    let maxAttempts: Int
    let machine: AttemptStateMachine
  }

  /// Where the run is within one candidate's keys.
  struct KeyCursor {
    var pool: [ResolvedKey]
    var keyIndex = 0
    var sameRetries = 0
    var retryingSame = false
  }

  /// Where the run goes next: the same candidate's keys again (the cursor says
  /// which), the next candidate, or it stops.
  enum Flow { case again, nextCandidate, stop }

  /// The candidate loop. Each step is its own function, so that only what one step
  /// holds across its awaits is in a frame while it runs, and this frame, which
  /// lives for the whole call, holds the loop and little else: with the steps
  /// inline it was ~20 KB per call in flight (bench/README.md).
  func run(start: Instant) async -> (Result<(ProviderResponse, PlannedCandidate, Usage, CostBreakdown?), RoutingError>, Run) {
    var run = Run()
    let limits = RunLimits(start: start, overallDeadline: start.advanced(by: request.deadline ?? route.retry.deadline),
                           maxAttempts: max(1, route.retry.maxAttempts), machine: AttemptStateMachine(route: route))
    candidates: for (position, candidate) in plan.ordered.enumerated() {
      var cursor: KeyCursor
      let adapter: any ProviderAdapter
      switch enter(candidate, limits, &run) {
      case .keys(let c, let a): cursor = c; adapter = a
      case .skip: continue candidates
      case .stop: break candidates
      }
      while cursor.keyIndex < cursor.pool.count {
        let primary: AttemptContext
        switch await begin(candidate, &cursor, limits, &run) {
        case .attempt(let ctx): primary = ctx
        case .flow(.again): continue
        case .flow(.nextCandidate): continue candidates
        case .flow(.stop): break candidates
        }
        let (ctx, outcome) = await perform(primary, adapter, position: position, limits, &run)
        switch await after(ctx, outcome, &cursor, limits, &run) {
        case .success(let answer): return (.success(answer), run)
        case .flow(.again): continue
        case .flow(.nextCandidate): continue candidates
        case .flow(.stop): break candidates
        }
      }
    }

    finishHedgeRecord(&run, winner: nil, winnerIsHedge: false)
    if let terminal = run.terminal { return (.failure(terminal), run) }
    return (.failure(finalError(run)), run)
  }

  enum Entry { case keys(KeyCursor, any ProviderAdapter), skip, stop }

  /// A candidate's checks before any of its keys: skipped, the run stops, or its keys.
  @inline(never) func enter(_ candidate: PlannedCandidate, _ limits: RunLimits, _ run: inout Run) -> Entry {
    if run.terminal != nil { return .stop }
    if run.hedgeFailed.contains(candidate.ref) { return .skip }  // already tried (and failed) as a hedge
    if let minWindow = run.minContextWindow, candidate.info.contextWindow <= minWindow {
      run.attempts.append(skipped(candidate.ref, .contextTooSmall, "window \(candidate.info.contextWindow) not larger than \(minWindow)", start: limits.start))
      return .skip
    }
    if run.attemptCount >= limits.maxAttempts { return .stop }
    if clock.now() >= limits.overallDeadline {
      run.lastFailure = ProviderFailure(.deadlineExceeded, message: "overall deadline passed")
      return .stop
    }
    guard let adapter = adapters[candidate.ref.provider] else { return .skip }
    var pool = keys.keys(for: candidate.ref.provider, override: request.keyOverrides[candidate.ref.provider])
    if pool.isEmpty {
      if adapter.requiresKey {
        let f = ProviderFailure(.missingKey, message: "no API key for provider '\(candidate.ref.provider)'")
        run.attempts.append(skipped(candidate.ref, .missingKey, f.message, start: limits.start, failureClass: .hard))
        run.lastFailure = f
        return .skip
      }
      pool = [.none]
    }
    return .keys(KeyCursor(pool: pool), adapter)
  }

  enum Begun { case attempt(AttemptContext), flow(Flow) }

  /// Before an attempt on the cursor's key: admission by the circuit, the limits,
  /// the budget reservation (the true worst case) and a restart of what the client saw.
  @inline(never) func begin(_ candidate: PlannedCandidate, _ cursor: inout KeyCursor, _ limits: RunLimits,
                            _ run: inout Run) async -> Begun {
    let start = limits.start
    let key = cursor.pool[cursor.keyIndex]
    let circuit = CircuitKey(candidate.ref, keyFingerprint: key.fingerprint)
    var admission = health.admit(circuit, now: clock.now())
    // A half-open probe needs the fleet's lease when the circuits are shared.
    if admission == .probe { admission = await health.confirmProbe(circuit, now: clock.now()) }
    guard admission.isAllowed else {
      cursor.keyIndex += 1
      if cursor.keyIndex == cursor.pool.count {
        run.attempts.append(skipped(candidate.ref, .circuitOpen, "circuit open for key \(key.fingerprint)", start: start, key: key))
      }
      cursor.retryingSame = false
      return .flow(.again)
    }
    let isProbe = admission == .probe
    if run.attemptCount >= limits.maxAttempts {
      if isProbe { health.releaseProbe(circuit) }
      return .flow(.stop)
    }
    if clock.now() >= limits.overallDeadline {
      if isProbe { health.releaseProbe(circuit) }
      run.lastFailure = ProviderFailure(.deadlineExceeded, message: "overall deadline passed")
      return .flow(.stop)
    }

    // Before the attempt: reserve the true worst case.
    let worst = ReservationEstimator.attemptAmount(candidate, delivered: run.pendingRestart != nil ? run.delivered : "")
    let reservation: BudgetReservation
    let reserved = await ledger.reserve(worst, scopes: scopes, requestID: requestID, wallMillis: clock.wallMillis())
    if case .reserved(let r, _) = reserved { run.stateBackend = r.backend ?? ledger.stateBackend } else { run.stateBackend = ledger.stateBackend }
    switch reserved {
    case .denied(let scope, let remaining):
      if isProbe { health.releaseProbe(circuit) }
      let f = ProviderFailure(.budgetViolation, message: "\(scope): worst case \(worst) > remaining \(remaining)")
      run.attempts.append(skipped(candidate.ref, .budgetViolation, f.message, start: start, key: key, failureClass: .semantic))
      run.lastFailure = f
      return .flow(.nextCandidate)
    case .unavailable(let why):
      if isProbe { health.releaseProbe(circuit) }
      let shared = why == ReasonCode.sharedStateUnavailable.rawValue
      let code: ReasonCode = shared ? .sharedStateUnavailable : .budgetViolation
      let f = ProviderFailure(code, message: shared ? "the fleet's shared budget ledger is unreachable (on_unavailable: fail_closed)"
                                                    : "the budget ledger is unavailable: \(why)")
      run.attempts.append(skipped(candidate.ref, code, f.message, start: start, key: key, failureClass: .semantic))
      run.lastFailure = f
      return .flow(.stop)
    case .reserved(let r, let soft):
      reservation = r
      for s in soft where !run.warnings.contains(where: { $0.hasPrefix("soft_budget_exceeded:\(s)") }) {
        run.warnings.append("soft_budget_exceeded:\(s)")
      }
    }

    // A stream the client saw part of restarts (or continues) here.
    var prefill: String?
    let canPrefill = candidate.info.capabilities.contains(.prefill) && !run.delivered.isEmpty
    switch limits.machine.resume(pending: run.pendingRestart?.reason, delivered: run.delivered, canPrefill: canPrefill,
                                 restartAllowed: request.streamRestartAllowed, candidate: candidate.ref) {
    case .fresh:
      break
    case .prefill(let text):
      prefill = text
    case .terminal(let error):
      if isProbe { health.releaseProbe(circuit) }
      await ledger.release(reservation)  // no attempt: nothing consumed
      run.terminal = error
      return .flow(.stop)
    case .restart:
      let pending = run.pendingRestart!
      run.pendingRestart = nil
      run.delivered = ""
      if let sink {
        try? await sink.onRestart(StreamRestartInfo(attempt: run.attemptCount + 1, reason: pending.reason, failed: pending.failed, next: candidate.ref))
      }
    }

    run.attemptCount += 1
    stats.begin(candidate.ref)
    return .attempt(AttemptContext(candidate: candidate, key: key, circuit: circuit, probe: isProbe, reservation: reservation,
                                   number: run.attemptCount, start: clock.now(), stream: AttemptStream(), prefill: prefill,
                                   sameCandidateRetry: cursor.retryingSame, hedgeOf: nil))
  }

  /// The attempt: raced against hedges when the route hedges, else on its own.
  @inline(never) func perform(_ primary: AttemptContext, _ adapter: any ProviderAdapter, position: Int, _ limits: RunLimits,
                              _ run: inout Run) async -> (AttemptContext, AttemptOutcome) {
    if let policy = route.hedge, policy.maxExtra > 0, run.hedgesStarted < policy.maxExtra {
      return await hedgedAttempt(primary, adapter: adapter, policy: policy, position: position, limits, run: &run)
    }
    let outcome = await attempt(primary.candidate, key: primary.key, adapter: adapter, number: primary.number, prefill: primary.prefill,
                                stream: primary.stream, overallDeadline: limits.overallDeadline)
    return (primary, outcome)
  }

  enum After { case success((ProviderResponse, PlannedCandidate, Usage, CostBreakdown?)), flow(Flow) }

  /// After the attempt: the answer, or the failure reported and what the state
  /// machine decides (retry in place after a wait, the next key or candidate, or stop).
  @inline(never) func after(_ ctx: AttemptContext, _ outcome: AttemptOutcome, _ cursor: inout KeyCursor, _ limits: RunLimits,
                            _ run: inout Run) async -> After {
    let start = limits.start
    let attemptStart = ctx.start
    let latency = clock.now().duration(since: attemptStart)
    let s = ctx.stream.state.withLock { $0 }

    switch outcome {
    case .success(let answer):
      let (response, cost) = await concludeSuccess(answer, ctx, latency: latency, stream: s, start: start, run: &run)
      return .success((response, ctx.candidate, response.usage, cost))

    case .cancelled:
      if ctx.probe { health.releaseProbe(ctx.circuit) }
      stats.end(ctx.candidate.ref, success: false, latency: nil)
      var record = failedRecord(ctx.number, ctx.candidate, ctx.key, ProviderFailure(.cancelled, message: "cancelled by the client"),
                                attemptStart: attemptStart, start: start, latency: latency, stream: s, retry: ctx.sameCandidateRetry, probe: ctx.probe)
      if ctx.hedgeOf != nil { record.hedge = true; record.hedgeOf = ctx.hedgeOf }
      run.attempts.append(record)
      // After the outcome: settle what the cancelled attempt consumed.
      await settleFailed(ctx.reservation, ctx.candidate, nil, s, &run)
      finishHedgeRecord(&run, winner: nil, winnerIsHedge: false)
      run.terminal = RoutingError(.cancelled, .cancelled, "the request was cancelled")
      return .flow(.stop)

    case .failure(let failure, let consumed):
      let failure = await recordFailure(ctx, failure, consumed: consumed, latency: latency, stream: s, start: start, run: &run)
      cursor.retryingSame = false
      if ctx.hedgeOf != nil { run.hedgeFailed.insert(ctx.candidate.ref) }
      if s.deliveredAny {
        run.delivered = (ctx.prefill ?? "") + s.text
        run.pendingRestart = (failure.reason, ctx.candidate.ref)
      }
      let state = AttemptStateMachine.RunState(
        sameCandidateRetries: cursor.sameRetries, keyIndex: cursor.keyIndex, keyCount: cursor.pool.count, now: clock.now(),
        deadline: limits.overallDeadline, delivered: s.deliveredAny,
        retryPermitted: retryBudgets.isRetryPermitted(ctx.candidate.ref.provider), jitter: random.nextUnit())
      finishHedgeRecord(&run, winner: nil, winnerIsHedge: false)
      switch limits.machine.afterRaceFailure(failure, state, wasHedge: ctx.hedgeOf != nil) {
      case .retrySame(let wait):
        if wait > .zero {
          do { try await clock.sleep(for: wait) } catch {
            run.terminal = RoutingError(.cancelled, .cancelled, "the request was cancelled")
            return .flow(.stop)
          }
        }
        cursor.sameRetries += 1
        cursor.retryingSame = true
        return .flow(.again)
      case .nextKey:
        cursor.keyIndex += 1
        return .flow(.again)
      case .nextCandidate:
        return .flow(.nextCandidate)
      case .terminal(let error):
        run.terminal = error
        return .flow(.stop)
      }
    }
  }

  /// Reports a successful attempt to the circuit, retry budget, stats and strategy,
  /// records it and settles what it cost; returns the answer (usage estimated when
  /// the provider reported none, a continuation's prefill prepended) and its cost.
  @inline(never) func concludeSuccess(_ answer: ProviderResponse, _ ctx: AttemptContext, latency: Duration, stream s: AttemptStream.S,
                                      start: Instant, run: inout Run) async -> (ProviderResponse, CostBreakdown?) {
    var response = answer
    let attemptStart = ctx.start
    if response.usage == .zero {
      response.usage = Usage(inputTokens: plan.estimatedInputTokens, outputTokens: TokenEstimator.estimateTokens(response.content))
      run.warnings.append("usage_estimated:\(ctx.candidate.ref)")
    }
    let cost = ctx.candidate.info.cost(of: response.usage)
    if cost == nil { run.warnings.append("price_unknown:\(ctx.candidate.ref)") }
    health.recordSuccess(ctx.circuit, probe: ctx.probe)
    retryBudgets.record(ctx.candidate.ref.provider, success: true)
    stats.end(ctx.candidate.ref, success: true, latency: latency)
    strategy.onSuccess(ctx.candidate.ref, latency: latency)
    if route.hedge != nil {  // first-token samples feed `hedge: {after_ms: p95}` only
      stats.recordFirstToken(ctx.candidate.ref, s.firstTokenAt.map { $0.duration(since: attemptStart) } ?? latency)
    }
    if let prefill = ctx.prefill { response.content = prefill + response.content }
    run.attempts.append(AttemptRecord(
      index: ctx.number, provider: ctx.candidate.ref.provider, model: ctx.candidate.ref.model, keySource: ctx.key.source,
      keyFingerprint: ctx.key.fingerprint, startedOffsetMs: attemptStart.duration(since: start).milliseconds,
      latencyMs: latency.milliseconds, firstTokenMs: s.firstTokenAt.map { $0.duration(since: attemptStart).milliseconds },
      outcome: .success, failureClass: nil, reason: nil, httpStatus: nil, usage: response.usage,
      estimatedInputTokens: plan.estimatedInputTokens, costUSD: cost?.total, message: "",
      sameCandidateRetry: ctx.sameCandidateRetry, probe: ctx.probe, hedge: ctx.hedgeOf == nil ? nil : true, hedgeOf: ctx.hedgeOf))
    // After the outcome: settle what it cost.
    await settle(ctx.reservation, AttemptCharge.success(usage: response.usage, info: ctx.candidate.info), &run)
    run.warnings.append(contentsOf: response.warnings)
    finishHedgeRecord(&run, winner: ctx.number, winnerIsHedge: ctx.hedgeOf != nil)
    return (response, cost)
  }

  /// Reports a failed attempt to the circuit, retry budget, stats and strategy,
  /// records it and settles what it consumed; returns the failure with its usage.
  @inline(never) func recordFailure(_ ctx: AttemptContext, _ failure: ProviderFailure, consumed: Usage?, latency: Duration,
                     stream s: AttemptStream.S, start: Instant, run: inout Run) async -> ProviderFailure {
    var failure = failure
    if let consumed, failure.usage == nil { failure.usage = consumed }
    let ref = ctx.candidate.ref
    if failure.local {
      // The daemon's own queue, not the provider: nothing to count against it.
      if ctx.probe { health.releaseProbe(ctx.circuit) }
      stats.end(ref, success: false, latency: nil)
    } else {
      health.recordFailure(ctx.circuit, class: failure.failureClass, retryAfter: failure.retryAfter, now: clock.now(), probe: ctx.probe)
      if failure.failureClass == .transient { retryBudgets.record(ref.provider, success: false) }
      stats.end(ref, success: false, latency: failure.failureClass == .transient ? latency : nil)
      if strategy.onFailure(ref, failure: failure) == .block { health.trip(ctx.circuit, now: clock.now()) }
    }
    var record = failedRecord(ctx.number, ctx.candidate, ctx.key, failure, attemptStart: ctx.start, start: start,
                              latency: latency, stream: s, retry: ctx.sameCandidateRetry, probe: ctx.probe)
    if ctx.hedgeOf != nil { record.hedge = true; record.hedgeOf = ctx.hedgeOf }
    run.attempts.append(record)
    // After the outcome: settle what it consumed (reported usage, else the estimate).
    await settleFailed(ctx.reservation, ctx.candidate, failure, s, &run)
    run.lastFailure = failure
    if failure.reason == .contextLengthExceeded {
      let w = ctx.candidate.info.contextWindow
      run.minContextWindow = max(run.minContextWindow ?? 0, w == .max ? 0 : w)
    }
    return failure
  }

  /// Runs one attempt on the adapter under the route's limits.
  func attempt(_ candidate: PlannedCandidate, key: ResolvedKey, adapter: any ProviderAdapter, number: Int,
               prefill: String?, stream: AttemptStream, overallDeadline: Instant,
               gate: HedgeGate? = nil, slot: Int = 0) async -> AttemptOutcome {
    let attemptDeadline = clock.now().advanced(by: route.timeouts.attempt)
    let limits = AttemptLimits(
      connect: route.timeouts.connect, firstToken: route.timeouts.firstToken, idle: route.timeouts.idle,
      keepAliveCeiling: route.timeouts.keepAliveMax,
      deadline: min(attemptDeadline, overallDeadline), deadlineIsOverall: overallDeadline <= attemptDeadline)
    var onDelta: DeltaHandler?
    if request.stream {
      let sink = self.sink, clock = self.clock, ref = candidate.ref
      onDelta = { delta in
        // In a hedge race only the winner's deltas reach the client: the first delta
        // claims the stream (and cancels the others); a loser's is dropped and stops it.
        if let gate, !gate.claim(slot) {
          stream.state.withLock { $0.deltas += 1 }
          throw CancellationError()
        }
        stream.state.withLock { s in
          if s.firstTokenAt == nil { s.firstTokenAt = clock.now() }
          if case .text(let t) = delta { s.text += t }
          s.deliveredAny = true
          s.deltas += 1
        }
        if let sink { try await sink.onDelta(delta, number, ref) }
      }
    }
    var attemptRequest = request
    if let prefill, let max = request.maxTokens {
      // A continuation may only produce what the answer has left.
      attemptRequest.maxTokens = Swift.max(1, max - TokenEstimator.estimateTokens(prefill))
    }
    let call = ProviderCall(request: attemptRequest, model: candidate.ref.model, apiKey: key.secret, prefill: prefill,
                            limits: limits, clock: clock, attempt: number, requestID: requestID)
    do {
      let response = try await adapter.complete(call, onDelta: onDelta)
      if response.finishReason == .contentFilter {
        // A 200 the provider's safety system stopped (OpenAI `content_filter`,
        // Anthropic `refusal`) is not an answer: semantic `content_policy`, which
        // follows the route's `content_policy_fallback`.
        let f = ProviderFailure(.contentPolicy, httpStatus: 200,
                                message: "the provider stopped the answer (content filter or refusal)", afterHeaders: true)
        return .failure(f, consumed: response.usage == .zero ? nil : response.usage)
      }
      return .success(response)
    } catch let f as ProviderFailure {
      return .failure(f, consumed: nil)
    } catch {
      if error is CancellationError || Task.isCancelled || gate?.isCancelled(slot) == true { return .cancelled }
      return .failure(ProviderFailure(.invalidResponse, message: "\(type(of: error)): \(error)"), consumed: nil)
    }
  }

  @inline(never) private func finalError(_ run: Run) -> RoutingError {
    if plan.ordered.isEmpty {
      let reasons = Set(plan.evaluations.compactMap(\.rejection))
      if reasons == [.budgetExhausted] {
        return RoutingError(.resourceExhausted, .budgetExhausted, "budget exhausted for every candidate")
      }
      if reasons == [.circuitOpen] {
        return RoutingError(.unavailable, .circuitOpen, "every candidate's circuit is open", retryable: true)
      }
      if reasons == [.capabilityMissing] {
        // e.g. an image sent to a route without a vision model: say which capability.
        let detail = plan.evaluations.map { "\($0.provider)/\($0.model) \($0.detail)" }.joined(separator: "; ")
        return RoutingError(.unavailable, .capabilityMissing,
                            "no candidate of the route has the capabilities this request needs (\(detail))")
      }
      let detail = plan.evaluations.map { "\($0.provider)/\($0.model): \($0.rejection?.rawValue ?? "?")" }.joined(separator: "; ")
      return RoutingError(.unavailable, .noEligibleCandidate, "no candidate passes the route's caps (\(detail))")
    }
    guard let last = run.lastFailure else {
      return RoutingError(.unavailable, .noEligibleCandidate, "no candidate could be attempted", retryable: true)
    }
    let tried = run.attempts.filter { $0.outcome == .failed }.count
    let message = "all \(tried) attempt(s) failed; last: \(last)"
    switch last.reason {
    case .deadlineExceeded: return RoutingError(.deadlineExceeded, .deadlineExceeded, message)
    case .budgetViolation: return RoutingError(.resourceExhausted, .budgetViolation, last.message)
    case .sharedStateUnavailable: return RoutingError(.unavailable, .sharedStateUnavailable, last.message, retryable: true)
    case .missingKey: return RoutingError(.unauthenticated, .missingKey, last.message)
    default:
      return RoutingError(.unavailable, last.reason, message, retryable: last.failureClass == .transient, retryAfter: last.retryAfter)
    }
  }

  @inline(never) func skipped(_ ref: CandidateRef, _ reason: ReasonCode, _ message: String, start: Instant,
                       key: ResolvedKey = .none, failureClass: FailureClass? = nil) -> AttemptRecord {
    AttemptRecord(index: 0, provider: ref.provider, model: ref.model, keySource: key.source, keyFingerprint: key.fingerprint,
                  startedOffsetMs: clock.now().duration(since: start).milliseconds, latencyMs: 0, firstTokenMs: nil,
                  outcome: .skipped, failureClass: failureClass, reason: reason, httpStatus: nil, usage: .zero,
                  estimatedInputTokens: plan.estimatedInputTokens, costUSD: nil, message: message,
                  sameCandidateRetry: false, probe: false)
  }

  @inline(never) func failedRecord(_ index: Int, _ c: PlannedCandidate, _ key: ResolvedKey, _ f: ProviderFailure, attemptStart: Instant,
                            start: Instant, latency: Duration, stream: AttemptStream.S, retry: Bool, probe: Bool) -> AttemptRecord {
    var record = AttemptRecord(index: index, provider: c.ref.provider, model: c.ref.model, keySource: key.source, keyFingerprint: key.fingerprint,
                  startedOffsetMs: attemptStart.duration(since: start).milliseconds, latencyMs: latency.milliseconds,
                  firstTokenMs: stream.firstTokenAt.map { $0.duration(since: attemptStart).milliseconds },
                  outcome: .failed, failureClass: f.failureClass, reason: f.reason, httpStatus: f.httpStatus, usage: .zero,
                  estimatedInputTokens: plan.estimatedInputTokens, costUSD: 0, message: f.message,
                  sameCandidateRetry: retry, probe: probe, retryAfterMs: f.retryAfter?.milliseconds)
    // Which of our limits ended it (the explain's "timeout attempt_ms fired").
    if let fired = route.timeouts.fired(by: f, overallDeadline: request.deadline ?? route.retry.deadline) {
      record.timeoutFired = fired.name
      record.timeoutLimitMs = fired.limit.milliseconds
    }
    return record
  }
}
