import Synchronization

/// Runs one request through its plan: attempts, classification, same-candidate
/// retries, key rotation, fail over, budget reserve/settle, stream restarts,
/// and assembles the decision event. One instance per request.
struct RequestExecutor {
  let requestID: String
  let route: RoutePolicy
  let strategy: any RoutingStrategy
  let request: ChatRequest
  let plan: Plan
  let catalog: ModelCatalog
  let adapters: [String: any ProviderAdapter]
  let health: HealthBoard
  let stats: CandidateStatsBoard
  let ledger: any BudgetLedger
  let keys: KeyResolver
  let clock: any RouterClock
  let scopes: [BudgetScope]
  let sink: CompletionSink?

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
  }

  /// Streamed state of one attempt, shared with the delta callback.
  final class AttemptStream: Sendable {
    struct S { var firstTokenAt: Instant?; var text = ""; var deliveredAny = false; var deltas = 0 }
    let state = Mutex(S())
  }

  func run(start: Instant) async -> (Result<(ProviderResponse, PlannedCandidate, Usage, CostBreakdown?), RoutingError>, Run) {
    var run = Run()
    let overallDeadline = start.advanced(by: request.deadline ?? route.retry.deadline)
    let maxAttempts = max(1, route.retry.maxAttempts)

    candidates: for candidate in plan.ordered {
      if run.terminal != nil { break }
      if let minWindow = run.minContextWindow, candidate.info.contextWindow <= minWindow {
        run.attempts.append(skipped(candidate.ref, .contextTooSmall, "window \(candidate.info.contextWindow) not larger than \(minWindow)", run: run, start: start))
        continue
      }
      if run.attemptCount >= maxAttempts { break }
      if clock.now() >= overallDeadline {
        run.lastFailure = ProviderFailure(.deadlineExceeded, message: "overall deadline passed")
        break
      }
      guard let adapter = adapters[candidate.ref.provider] else { continue }
      var pool = keys.keys(for: candidate.ref.provider, override: request.keyOverrides[candidate.ref.provider])
      if pool.isEmpty {
        if adapter.requiresKey {
          let f = ProviderFailure(.missingKey, message: "no API key for provider '\(candidate.ref.provider)'")
          run.attempts.append(skipped(candidate.ref, .missingKey, f.message, run: run, start: start, failureClass: .hard))
          run.lastFailure = f
          continue
        }
        pool = [.none]
      }

      var keyIndex = 0
      var sameRetries = 0
      var retryingSame = false
      attempts: while keyIndex < pool.count {
        let key = pool[keyIndex]
        let circuit = CircuitKey(candidate.ref, keyFingerprint: key.fingerprint)
        let admission = health.admit(circuit, now: clock.now())
        guard admission.isAllowed else {
          keyIndex += 1
          if keyIndex == pool.count {
            run.attempts.append(skipped(candidate.ref, .circuitOpen, "circuit open for key \(key.fingerprint)", run: run, start: start, key: key))
          }
          retryingSame = false
          continue
        }
        let isProbe = admission == .probe
        if run.attemptCount >= maxAttempts {
          if isProbe { health.releaseProbe(circuit) }
          break candidates
        }
        let now = clock.now()
        if now >= overallDeadline {
          if isProbe { health.releaseProbe(circuit) }
          run.lastFailure = ProviderFailure(.deadlineExceeded, message: "overall deadline passed")
          break candidates
        }
        // Reserve the worst case before anything goes out.
        let worst = ReservationEstimator.attemptAmount(candidate, delivered: run.pendingRestart != nil ? run.delivered : "")
        let reservation: BudgetReservation
        switch await ledger.reserve(worst, scopes: scopes, requestID: requestID, wallMillis: clock.wallMillis()) {
        case .denied(let scope, let remaining):
          if isProbe { health.releaseProbe(circuit) }
          let f = ProviderFailure(.budgetViolation, message: "\(scope): worst case \(worst) > remaining \(remaining)")
          run.attempts.append(skipped(candidate.ref, .budgetViolation, f.message, run: run, start: start, key: key, failureClass: .semantic))
          run.lastFailure = f
          continue candidates
        case .unavailable(let why):
          if isProbe { health.releaseProbe(circuit) }
          let f = ProviderFailure(.budgetViolation, message: "the budget ledger is unavailable: \(why)")
          run.attempts.append(skipped(candidate.ref, .budgetViolation, f.message, run: run, start: start, key: key, failureClass: .semantic))
          run.lastFailure = f
          break candidates
        case .reserved(let r, let soft):
          reservation = r
          for s in soft where !run.warnings.contains(where: { $0.hasPrefix("soft_budget_exceeded:\(s)") }) {
            run.warnings.append("soft_budget_exceeded:\(s)")
          }
        }

        // A stream the client saw part of restarts (or continues) here.
        var prefill: String?
        if let pending = run.pendingRestart {
          let canPrefill = candidate.info.capabilities.contains(.prefill) && !run.delivered.isEmpty
          if (route.onStreamFailure == .continue || !request.streamRestartAllowed), canPrefill {
            prefill = run.delivered
          } else if !request.streamRestartAllowed {
            // The client cannot discard what it holds: end cleanly rather than splice.
            if isProbe { health.releaseProbe(circuit) }
            await ledger.release(reservation)
            run.terminal = RoutingError(.unavailable, pending.reason,
                                        "stream failed after the answer began and cannot be continued on \(candidate.ref)", retryable: true)
            break candidates
          } else {
            run.pendingRestart = nil
            run.delivered = ""
            if let sink {
              try? await sink.onRestart(StreamRestartInfo(attempt: run.attemptCount + 1, reason: pending.reason, failed: pending.failed, next: candidate.ref))
            }
          }
        }

        run.attemptCount += 1
        let attemptNumber = run.attemptCount
        stats.begin(candidate.ref)
        let attemptStart = clock.now()
        let attemptDeadline = attemptStart.advanced(by: route.timeouts.attempt)
        let limits = AttemptLimits(
          connect: route.timeouts.connect, firstToken: route.timeouts.firstToken, idle: route.timeouts.idle,
          deadline: min(attemptDeadline, overallDeadline), deadlineIsOverall: overallDeadline <= attemptDeadline)
        let stream = AttemptStream()
        var onDelta: DeltaHandler?
        if request.stream {
          let sink = self.sink, clock = self.clock, ref = candidate.ref
          onDelta = { delta in
            stream.state.withLock { s in
              if s.firstTokenAt == nil { s.firstTokenAt = clock.now() }
              if case .text(let t) = delta { s.text += t }
              s.deliveredAny = true
              s.deltas += 1
            }
            if let sink { try await sink.onDelta(delta, attemptNumber, ref) }
          }
        }
        var attemptRequest = request
        if let prefill, let max = request.maxTokens {
          // A continuation may only produce what the answer has left.
          attemptRequest.maxTokens = Swift.max(1, max - TokenEstimator.estimateTokens(prefill))
        }
        let call = ProviderCall(request: attemptRequest, model: candidate.ref.model, apiKey: key.secret, prefill: prefill,
                                limits: limits, clock: clock, attempt: attemptNumber, requestID: requestID)
        do {
          var response = try await adapter.complete(call, onDelta: onDelta)
          let latency = clock.now().duration(since: attemptStart)
          if response.usage == .zero {
            response.usage = Usage(inputTokens: plan.estimatedInputTokens, outputTokens: TokenEstimator.estimateTokens(response.content))
            run.warnings.append("usage_estimated:\(candidate.ref)")
          }
          let cost = candidate.info.cost(of: response.usage)
          if cost == nil { run.warnings.append("price_unknown:\(candidate.ref)") }
          health.recordSuccess(circuit)
          stats.end(candidate.ref, success: true, latency: latency)
          strategy.onSuccess(candidate.ref, latency: latency)
          if let prefill { response.content = prefill + response.content }
          let s = stream.state.withLock { $0 }
          run.attempts.append(AttemptRecord(
            index: attemptNumber, provider: candidate.ref.provider, model: candidate.ref.model, keySource: key.source,
            keyFingerprint: key.fingerprint, startedOffsetMs: attemptStart.duration(since: start).milliseconds,
            latencyMs: latency.milliseconds, firstTokenMs: s.firstTokenAt.map { $0.duration(since: attemptStart).milliseconds },
            outcome: .success, failureClass: nil, reason: nil, httpStatus: nil, usage: response.usage,
            estimatedInputTokens: plan.estimatedInputTokens, costUSD: cost?.total, message: "",
            sameCandidateRetry: retryingSame, probe: isProbe))
          await settle(reservation, AttemptCharge.success(usage: response.usage, info: candidate.info), &run)
          run.warnings.append(contentsOf: response.warnings)
          return (.success((response, candidate, response.usage, cost)), run)
        } catch {
          let latency = clock.now().duration(since: attemptStart)
          let s = stream.state.withLock { $0 }
          let failure: ProviderFailure
          if let f = error as? ProviderFailure {
            failure = f
          } else if error is CancellationError || Task.isCancelled {
            if isProbe { health.releaseProbe(circuit) }
            stats.end(candidate.ref, success: false, latency: nil)
            run.attempts.append(failedRecord(attemptNumber, candidate, key, ProviderFailure(.cancelled, message: "cancelled by the client"),
                                             attemptStart: attemptStart, start: start, latency: latency, stream: s, retry: retryingSame, probe: isProbe))
            await settleFailed(reservation, candidate, nil, s, &run)
            run.terminal = RoutingError(.cancelled, .cancelled, "the request was cancelled")
            break candidates
          } else {
            failure = ProviderFailure(.invalidResponse, message: "\(type(of: error)): \(error)")
          }
          health.recordFailure(circuit, class: failure.failureClass, retryAfter: failure.retryAfter, now: clock.now(), probe: isProbe)
          stats.end(candidate.ref, success: false, latency: failure.failureClass == .transient ? latency : nil)
          if strategy.onFailure(candidate.ref, failure: failure) == .block { health.trip(circuit, now: clock.now()) }
          run.attempts.append(failedRecord(attemptNumber, candidate, key, failure, attemptStart: attemptStart, start: start,
                                           latency: latency, stream: s, retry: retryingSame, probe: isProbe))
          await settleFailed(reservation, candidate, failure, s, &run)
          run.lastFailure = failure
          retryingSame = false

          // The client saw part of this attempt's answer.
          if s.deliveredAny {
            run.delivered = (prefill ?? "") + s.text
            if route.onStreamFailure == .error {
              run.terminal = RoutingError(.unavailable, failure.reason, "stream failed after the answer began: \(failure.message)", retryable: true)
              break candidates
            }
            run.pendingRestart = (failure.reason, candidate.ref)
          }

          switch failure.failureClass {
          case .semantic:
            switch failure.reason {
            case .contextLengthExceeded:
              run.minContextWindow = max(run.minContextWindow ?? 0, candidate.info.contextWindow == .max ? 0 : candidate.info.contextWindow)
              continue candidates
            case .contentPolicy:
              if route.contentPolicyFallback { continue candidates }
              run.terminal = RoutingError(.upstreamRejected, .contentPolicy, failure.message.isEmpty ? "the provider refused the content" : failure.message)
              break candidates
            case .invalidRequest:
              run.terminal = RoutingError(.upstreamRejected, .invalidRequest, failure.message.isEmpty ? "the provider rejected the request" : failure.message)
              break candidates
            default:
              continue candidates
            }
          case .hard:
            // A bad or exhausted key: the next key of the pool, same candidate.
            if [.invalidCredentials, .quotaExhausted].contains(failure.reason), keyIndex + 1 < pool.count {
              keyIndex += 1
              continue attempts
            }
            continue candidates
          case .transient:
            let cheap: Bool
            switch failure.reason {
            case .connectionReset: cheap = !failure.afterHeaders
            case .provider5xx: cheap = true
            case .rateLimited: cheap = (failure.retryAfter ?? .seconds(Int64.max / 2_000_000_000)) <= route.retry.retryAfterMax
            default: cheap = false  // timeouts (silent), stalls, cuts: move on
            }
            if cheap, !failure.silent, !s.deliveredAny, sameRetries < route.retry.sameCandidateRetries {
              if let wait = failure.retryAfter {
                if clock.now().advanced(by: wait) >= overallDeadline { continue candidates }
                do { try await clock.sleep(for: wait) } catch {
                  run.terminal = RoutingError(.cancelled, .cancelled, "the request was cancelled")
                  break candidates
                }
              }
              sameRetries += 1
              retryingSame = true
              continue attempts
            }
            continue candidates
          }
        }
      }
    }

    if let terminal = run.terminal { return (.failure(terminal), run) }
    return (.failure(finalError(run)), run)
  }

  private func finalError(_ run: Run) -> RoutingError {
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
    case .missingKey: return RoutingError(.unauthenticated, .missingKey, last.message)
    default:
      return RoutingError(.unavailable, last.reason, message, retryable: last.failureClass == .transient, retryAfter: last.retryAfter)
    }
  }

  private func skipped(_ ref: CandidateRef, _ reason: ReasonCode, _ message: String, run: Run, start: Instant,
                       key: ResolvedKey = .none, failureClass: FailureClass? = nil) -> AttemptRecord {
    AttemptRecord(index: 0, provider: ref.provider, model: ref.model, keySource: key.source, keyFingerprint: key.fingerprint,
                  startedOffsetMs: clock.now().duration(since: start).milliseconds, latencyMs: 0, firstTokenMs: nil,
                  outcome: .skipped, failureClass: failureClass, reason: reason, httpStatus: nil, usage: .zero,
                  estimatedInputTokens: plan.estimatedInputTokens, costUSD: nil, message: message,
                  sameCandidateRetry: false, probe: false)
  }

  private func failedRecord(_ index: Int, _ c: PlannedCandidate, _ key: ResolvedKey, _ f: ProviderFailure, attemptStart: Instant,
                            start: Instant, latency: Duration, stream: AttemptStream.S, retry: Bool, probe: Bool) -> AttemptRecord {
    AttemptRecord(index: index, provider: c.ref.provider, model: c.ref.model, keySource: key.source, keyFingerprint: key.fingerprint,
                  startedOffsetMs: attemptStart.duration(since: start).milliseconds, latencyMs: latency.milliseconds,
                  firstTokenMs: stream.firstTokenAt.map { $0.duration(since: attemptStart).milliseconds },
                  outcome: .failed, failureClass: f.failureClass, reason: f.reason, httpStatus: f.httpStatus, usage: .zero,
                  estimatedInputTokens: plan.estimatedInputTokens, costUSD: 0, message: f.message,
                  sameCandidateRetry: retry, probe: probe, retryAfterMs: f.retryAfter?.milliseconds)
  }
}
