/// The router step of `strategy: tiered`: one classification call, made only
/// when the rules are ambiguous, outside the request executor.
///
/// Each router candidate is tried at most once per request, in order, all within
/// the one step deadline (`router.timeout_ms`, never past the request's deadline),
/// which the call carries as its attempt deadline.
/// A call is admitted by the global health board like any attempt (an open
/// circuit skips the candidate; a half-open one makes this call its probe),
/// reserves its worst case in the request's budget scopes and settles what it
/// consumed, and reports transient and hard failures to the circuit. A call that
/// answers — valid or not — ends the step; one that fails lets the next router
/// candidate try with the time left. A cancelled call releases its probe slot and
/// reports nothing to the circuit, so cancelling never opens or closes one.
struct TierRouterCall {
  let policy: TieredPolicy
  let request: ChatRequest
  let requestID: String
  let catalog: ModelCatalog
  let adapters: [String: any ProviderAdapter]
  let health: HealthBoard
  let keys: KeyResolver
  let ledger: any BudgetLedger
  let scopes: [BudgetScope]
  let estimator: InputEstimator
  let clock: any RouterClock

  /// How the step ended.
  struct Outcome {
    /// The parsed answer, or why there is none (a `router_*` reason code and a message).
    var answer: Result<TierRouterAnswer.Parsed, Failure>
    var attempts: [AttemptRecord] = []
    var charged = MicroUSD.zero
    var overage = MicroUSD.zero
    /// Router endpoints that failed (transient or hard) in this request.
    var failedEndpoints: [CandidateRef] = []
    var warnings: [String] = []
    var latency: Duration = .zero
  }

  struct Failure: Error {
    var reason: ReasonCode
    var message: String
  }

  private enum Race: Sendable {
    case answered(ProviderResponse)
    case failed(ProviderFailure)
    case cancelled
  }

  /// Runs the step; `start` is the request's start, `overallDeadline` its deadline.
  func run(start: Instant, overallDeadline: Instant) async -> Outcome {
    let stepStart = clock.now()
    let stepDeadline = min(stepStart.advanced(by: policy.router.timeout), overallDeadline)
    var out = Outcome(answer: .failure(Failure(reason: .routerCircuitOpen, message: "every router candidate's circuit is open")))
    var last: Failure?
    let choices = policy.router.choices.isEmpty ? policy.tiers.map(\.name) : policy.router.choices

    candidates: for ref in policy.router.candidates {
      if clock.now() >= stepDeadline {
        last = Failure(reason: .routerTimeout, message: "no time left of router.timeout_ms")
        break
      }
      guard let adapter = adapters[ref.provider] else { continue }
      var pool = keys.keys(for: ref.provider, override: request.keyOverrides[ref.provider])
      if pool.isEmpty {
        if adapter.requiresKey {
          out.attempts.append(skipped(ref, .missingKey, "no API key for provider '\(ref.provider)'", start: start))
          last = Failure(reason: .routerError, message: "no API key for router provider '\(ref.provider)'")
          continue
        }
        pool = [.none]
      }
      var admitted: (key: ResolvedKey, probe: Bool)?
      for key in pool {
        let a = health.admit(CircuitKey(ref, keyFingerprint: key.fingerprint), now: clock.now())
        if a.isAllowed { admitted = (key, a == .probe); break }
      }
      guard let (key, isProbe) = admitted else {
        out.attempts.append(skipped(ref, .circuitOpen, "router circuit open", start: start))
        continue
      }
      let circuit = CircuitKey(ref, keyFingerprint: key.fingerprint)
      let info = catalog.info(for: ref) ?? CandidatePlanner.unknownModel
      let routerRequest = makeRequest(info: info, choices: choices)
      let inputTokens = ReservationEstimator.inputTokens(routerRequest, estimator: estimator)
      let worst = ReservationEstimator.worstCase(routerRequest, info: info, inputTokens: inputTokens) ?? .zero
      if info.budgetPrices == nil { out.warnings.append("price_unknown:router:\(ref)") }

      let reservation: BudgetReservation
      switch await ledger.reserve(worst, scopes: scopes, requestID: requestID, wallMillis: clock.wallMillis()) {
      case .denied(let scope, let remaining):
        if isProbe { health.releaseProbe(circuit) }
        let m = "\(scope): router worst case \(worst) > remaining \(remaining)"
        out.attempts.append(skipped(ref, .budgetViolation, m, start: start, key: key))
        last = Failure(reason: .routerBudget, message: m)
        continue candidates
      case .unavailable(let why):
        if isProbe { health.releaseProbe(circuit) }
        let m = "the budget ledger is unavailable: \(why)"
        out.attempts.append(skipped(ref, .budgetViolation, m, start: start, key: key))
        last = Failure(reason: .routerBudget, message: m)
        break candidates
      case .reserved(let r, _):
        reservation = r
      }

      let index = out.attempts.filter { $0.outcome != .skipped }.count + 1
      let attemptStart = clock.now()
      let race = await call(adapter, ref: ref, key: key, request: routerRequest, deadline: stepDeadline,
                            deadlineIsOverall: overallDeadline <= stepDeadline, number: index)
      let latency = clock.now().duration(since: attemptStart)
      var record = AttemptRecord(
        index: index, provider: ref.provider, model: ref.model, keySource: key.source, keyFingerprint: key.fingerprint,
        startedOffsetMs: attemptStart.duration(since: start).milliseconds, latencyMs: latency.milliseconds, firstTokenMs: nil,
        outcome: .failed, failureClass: nil, reason: nil, httpStatus: nil, usage: .zero, estimatedInputTokens: inputTokens,
        costUSD: nil, message: "", sameCandidateRetry: false, probe: isProbe)

      switch race {
      case .answered(let response):
        health.recordSuccess(circuit, probe: isProbe)
        var usage = response.usage
        if usage == .zero { usage = Usage(inputTokens: inputTokens, outputTokens: TokenEstimator.estimateTokens(response.content)) }
        let amount = AttemptCharge.success(usage: usage, info: info)
        record.usage = usage
        record.costUSD = amount.usd
        switch TierRouterAnswer.parse(response.content, allowed: choices) {
        case .success(let parsed):
          record.outcome = .success
          out.answer = .success(parsed)
        case .failure(let invalid):
          record.failureClass = .semantic
          record.reason = .invalidResponse
          record.message = "router answer unusable: \(invalid.message)"
          out.answer = .failure(Failure(reason: .routerInvalid, message: invalid.message))
        }
        await settle(reservation, amount, &record, &out)
        out.latency = clock.now().duration(since: stepStart)
        return out

      case .cancelled:
        if isProbe { health.releaseProbe(circuit) }
        let (amount, usage) = AttemptCharge.failed(failure: nil, info: info, inputEstimate: inputTokens, deliveredText: "", deliveredDeltas: 0)
        record.reason = .cancelled
        record.message = "cancelled by the client"
        record.usage = usage
        record.costUSD = amount.usd
        await settle(reservation, amount, &record, &out)
        out.answer = .failure(Failure(reason: .routerCancelled, message: "the request was cancelled during the router call"))
        out.latency = clock.now().duration(since: stepStart)
        return out

      case .failed(let failure):
        health.recordFailure(circuit, class: failure.failureClass, retryAfter: failure.retryAfter, now: clock.now(), probe: isProbe)
        let (amount, usage) = AttemptCharge.failed(failure: failure, info: info, inputEstimate: inputTokens, deliveredText: "", deliveredDeltas: 0)
        record.failureClass = failure.failureClass
        record.reason = failure.reason
        record.httpStatus = failure.httpStatus
        record.message = failure.message
        record.retryAfterMs = failure.retryAfter?.milliseconds
        record.usage = usage
        record.costUSD = amount.usd
        await settle(reservation, amount, &record, &out)
        if failure.failureClass != .semantic { out.failedEndpoints.append(ref) }
        if failure.reason == .timeout || failure.reason == .deadlineExceeded || failure.reason == .firstTokenTimeout
          || clock.now() >= stepDeadline {
          last = Failure(reason: .routerTimeout, message: "the router did not answer within \(policy.router.timeout.milliseconds) ms")
        } else {
          last = Failure(reason: .routerError, message: "router call failed: \(failure.reason.rawValue)")
        }
      }
    }
    if let last { out.answer = .failure(last) }
    out.latency = clock.now().duration(since: stepStart)
    return out
  }

  /// The classification request: the router prompt as system message, the last
  /// user message (cut to `max_input_chars`) as the only user message.
  func makeRequest(info: ModelInfo, choices: [String]) -> ChatRequest {
    let tierList = policy.tiers.filter { choices.contains($0.name) }
      .map { t in "- \(t.name)" + (t.description.isEmpty ? "" : ": \(t.description)") }.joined(separator: "\n")
    let system = policy.router.prompt.replacingOccurrences(of: "{tiers}", with: tierList)
    let text = String(TierRules.lastUserText(request).prefix(policy.router.maxInputCharacters))
    var r = ChatRequest(messages: [ChatMessage(role: .system, content: system), ChatMessage(role: .user, content: text)],
                        maxTokens: policy.router.maxTokens, temperature: 0, tenant: request.tenant, requestID: request.requestID)
    r.keyOverrides = request.keyOverrides
    if info.capabilities.contains(.jsonSchema) {
      let names = choices.map { "\"\($0)\"" }.joined(separator: ",")
      r.responseFormat = .jsonSchema(
        name: "tier_choice",
        schema: #"{"type":"object","properties":{"tier":{"type":"string","enum":["# + names
          + #"]},"reason":{"type":"string"}},"required":["tier","reason"],"additionalProperties":false}"#,
        strict: true)
    }
    return r
  }

  /// One call under the step deadline. Like every attempt, the adapter enforces
  /// the limits on the call's clock (HTTP adapters with their timers, simulated ones
  /// on the virtual clock), so a router that never answers ends at the deadline.
  private func call(_ adapter: any ProviderAdapter, ref: CandidateRef, key: ResolvedKey, request: ChatRequest,
                    deadline: Instant, deadlineIsOverall: Bool, number: Int) async -> Race {
    let remaining = deadline.duration(since: clock.now())
    let limits = AttemptLimits(connect: remaining, firstToken: remaining, idle: remaining, deadline: deadline,
                               deadlineIsOverall: deadlineIsOverall)
    let call = ProviderCall(request: request, model: ref.model, apiKey: key.secret, limits: limits, clock: clock,
                            attempt: number, requestID: requestID)
    do {
      let response = try await adapter.complete(call, onDelta: nil)
      return Task.isCancelled ? .cancelled : .answered(response)
    } catch let f as ProviderFailure {
      return Task.isCancelled ? .cancelled : .failed(f)
    } catch {
      if error is CancellationError || Task.isCancelled { return .cancelled }
      return .failed(ProviderFailure(.invalidResponse, message: "\(type(of: error))"))
    }
  }

  private func settle(_ reservation: BudgetReservation, _ amount: MicroUSD, _ record: inout AttemptRecord, _ out: inout Outcome) async {
    let r = await AttemptCharge.settle(ledger, reservation, amount: amount, wallMillis: clock.wallMillis(), record: &record)
    out.charged += r.charged
    out.overage += r.overage
    if r.overage > .zero { out.warnings.append("budget_overage:router:\(reservation.amount)+\(r.overage)") }
    out.attempts.append(record)
  }

  private func skipped(_ ref: CandidateRef, _ reason: ReasonCode, _ message: String, start: Instant, key: ResolvedKey = .none) -> AttemptRecord {
    AttemptRecord(index: 0, provider: ref.provider, model: ref.model, keySource: key.source, keyFingerprint: key.fingerprint,
                  startedOffsetMs: clock.now().duration(since: start).milliseconds, latencyMs: 0, firstTokenMs: nil,
                  outcome: .skipped, failureClass: nil, reason: reason, httpStatus: nil, usage: .zero,
                  estimatedInputTokens: 0, costUSD: nil, message: message, sameCandidateRetry: false, probe: false)
  }
}
