import Foundation
import Logging
import SwitchboardAudit
import SwitchboardCore
import SwitchboardWire

/// Serves calls: converts wire requests, routes them, streams chunks, answers
/// with exactly one terminal frame; hands the decision to the shared
/// `DecisionRecorder` (metrics, one log line per attempt and per decision).
final class DaemonHandler: CallHandler {
  let router: Router
  let audit: AuditStore
  let recorder: DecisionRecorder
  let logger: Logger
  let runtime: RuntimeReference
  let tracer: RequestTracer

  init(router: Router, audit: AuditStore, recorder: DecisionRecorder, runtime: RuntimeReference, tracer: RequestTracer = .off) {
    self.router = router; self.audit = audit; self.recorder = recorder; self.logger = recorder.logger; self.runtime = runtime
    self.tracer = tracer
  }

  func handleCompletion(_ request: Switchboard_V1_CompletionRequest, call: ServerCall) async {
    let started = ContinuousClock.now
    let chat: ChatRequest
    do {
      chat = try ProtoConversion.chatRequest(request)
    } catch let e as RequestValidationError {
      await call.fail(.invalidArgument, reason: "invalid_request", message: e.message, correlationID: request.requestID)
      return
    } catch {
      await call.fail(.invalidArgument, reason: "invalid_request", message: "\(error)", correlationID: request.requestID)
      return
    }
    var sink: CompletionSink?
    if chat.stream {
      sink = CompletionSink(
        onDelta: { delta, attempt, ref in
          var chunk = Switchboard_V1_CompletionChunk()
          switch delta {
          case .text(let t): chunk.delta = t
          case .toolCall(let index, let id, let name, let args):
            var d = Switchboard_V1_ToolCallDelta()
            d.index = UInt32(clamping: index); d.id = id ?? ""; d.name = name ?? ""; d.argumentsDelta = args
            chunk.toolCallDeltas = [d]
          }
          chunk.attempt = UInt32(clamping: attempt)
          chunk.provider = ref.provider
          chunk.model = ref.model
          try await call.send(.completionChunk(chunk))
        },
        onRestart: { info in
          var r = Switchboard_V1_StreamRestart()
          r.attempt = UInt32(clamping: info.attempt)
          r.reasonCode = info.reason.rawValue
          r.failedProvider = info.failed.provider; r.failedModel = info.failed.model
          r.nextProvider = info.next.provider; r.nextModel = info.next.model
          try await call.send(.streamRestart(r))
        })
    }
    // The tenant comes from who is calling (SO_PEERCRED), never from the request alone.
    let caller = Self.caller(call.peer)
    // W3C trace context from the request; a malformed one is ignored (a new trace).
    let incoming = IncomingTraceContext.parse(traceParent: request.traceparent.isEmpty ? nil : request.traceparent,
                                              traceState: request.tracestate.isEmpty ? nil : request.tracestate)
    let router = self.router
    let outcome = await tracer.traced(route: chat.route ?? chat.explicitTarget?.description ?? "", context: RequestContext(caller: caller),
                                      incoming: incoming) { context in
      await router.complete(chat, context: context, sink: sink)
    }
    await call.finish(Self.terminal(outcome))
    recorder.record(outcome.event, started: started)
  }

  /// The call's terminal frame for `outcome`. Synchronous and not inlined, so the
  /// protos it builds stay out of the async frame (on the task's heap per call in flight).
  @inline(never)
  static func terminal(_ outcome: RoutedOutcome) -> Switchboard_V1_Frame.OneOf_Body {
    let event = outcome.event
    switch outcome.result {
    case .success(let result):
      var response = ProtoConversion.response(result)
      response.correlationID = event.correlationID ?? ""
      response.stateBackend = event.stateBackend ?? ""
      response.traceID = event.traceID ?? ""
      return .completionResponse(response)
    case .failure(let error):
      var s = Switchboard_V1_Status()
      s.code = ProtoConversion.statusCode(error.code); s.reasonCode = error.reason.rawValue; s.message = error.message
      s.retryable = error.retryable; s.retryAfterMs = UInt32(clamping: Int(error.retryAfter?.milliseconds ?? 0))
      s.requestID = event.requestID; s.correlationID = event.correlationID ?? ""
      s.stateBackend = event.stateBackend ?? ""
      return .status(s)
    }
  }

  /// Who is calling: the peer's credentials (SO_PEERCRED), never anything the request says.
  static func caller(_ peer: PeerCredentials?) -> CallerIdentity {
    peer.map { .peer(uid: $0.uid, gids: [$0.gid]) } ?? .token("unidentified-peer")
  }

  // MARK: - admin

  /// Whether `peer` holds admin rights (`listen.admin_uids` / `admin_gids`).
  func isAdmin(_ peer: PeerCredentials?) -> Bool {
    guard let peer, let rt = runtime.runtime else { return false }
    return rt.server.configuration.admin.allows(peer)
  }

  /// Ends an admin call whose read failed: CANCELLED when the call was cancelled.
  private func failRead(_ call: ServerCall, _ error: any Error) async {
    if call.isCancelled || Task.isCancelled || error is CancellationError {
      await call.fail(.cancelled, reason: "cancelled", message: "the call was cancelled")
    } else {
      await call.fail(.internal, reason: "audit_error", message: "cannot read the audit store")
      logger.error("audit read failed", metadata: ["error": "\(type(of: error))"])
    }
  }

  private func requireAdmin(_ call: ServerCall, _ what: String) async -> Bool {
    if isAdmin(call.peer) { return true }
    logger.notice("admin call refused", metadata: ["peer": "\(call.peer.map(String.init(describing:)) ?? "unknown")", "admin.call": "\(what)"])
    await call.fail(.permissionDenied, reason: "admin_required",
                    message: "\(what) needs admin rights (listen.admin_uids / listen.admin_gids)")
    return false
  }

  func handleAdmin(_ request: Switchboard_V1_AdminRequest, call: ServerCall) async {
    var response = Switchboard_V1_AdminResponse()
    switch request.kind {
    case .health:
      var h = Switchboard_V1_HealthResponse()
      let rt = runtime.runtime
      h.serving = true
      h.version = SwitchboardVersion.current
      h.uptimeMs = UInt64(max(0, (rt?.uptime ?? .zero).milliseconds))
      h.inFlight = UInt32(clamping: rt?.server.inFlight ?? 0)
      h.configDigest = router.configuration.digest
      let now = router.clock.now()
      h.circuits = router.health.snapshot(now: now).map { s in
        var c = Switchboard_V1_CircuitState()
        c.provider = s.key.provider; c.model = s.key.model; c.keyFingerprint = s.key.keyFingerprint
        c.state = s.state; c.consecutiveFailures = UInt32(clamping: s.consecutiveFailures)
        c.cooldownRemainingMs = UInt64(max(0, s.cooldownRemaining.milliseconds)); c.cooldownMs = UInt64(max(0, s.cooldown.milliseconds))
        return c
      }
      h.budgets = await router.ledger.snapshot(scopes: nil, wallMillis: router.clock.wallMillis()).map(ProtoConversion.budget)
      response.kind = .health(h)
    case .explain(let e):
      guard !e.requestID.isEmpty else {
        await call.fail(.invalidArgument, reason: "invalid_request", message: "request_id is required"); return
      }
      let visibility = DecisionVisibility.of(Self.caller(call.peer), isAdmin: isAdmin(call.peer), router: router)
      do {
        // By request id; else the newest visible decision whose correlation id (the id
        // the client sent) it is. Another caller's decision is answered like a missing one.
        var found = try await audit.event(requestID: e.requestID).flatMap { visibility.allows($0) ? $0 : nil }
        if found == nil {
          var byCorrelation = DecisionFilter()
          byCorrelation.correlationID = e.requestID
          byCorrelation.limit = 1
          found = try await visibleEvents(byCorrelation, limit: 1, visibility).first?.event
        }
        guard let event = found else {
          if call.isCancelled || Task.isCancelled { await call.fail(.cancelled, reason: "cancelled", message: "the call was cancelled"); return }
          await call.fail(.notFound, reason: "unknown_request", message: "no decision recorded for request \(e.requestID)"); return
        }
        var x = Switchboard_V1_ExplainResponse()
        x.event = ProtoConversion.event(event)
        x.text = DecisionExplainer.render(event)
        x.eventJson = DecisionJSON.encode(event)
        response.kind = .explain(x)
      } catch {
        await failRead(call, error); return
      }
    case .listDecisions(let l):
      var filter = DecisionFilter()
      if l.sinceMs > 0 { filter.sinceMs = l.sinceMs }
      if l.untilMs > 0 { filter.untilMs = l.untilMs }
      if !l.route.isEmpty { filter.route = l.route }
      if !l.tenant.isEmpty { filter.tenant = l.tenant }
      if !l.provider.isEmpty { filter.provider = l.provider }
      if !l.correlationID.isEmpty { filter.correlationID = l.correlationID }
      if !l.tags.isEmpty {
        // A filter tag that no request could carry matches nothing: say so instead.
        if let problem = RequestTags.problem(l.tags) {
          await call.fail(.invalidArgument, reason: RequestTags.reason.rawValue, message: "tag filter: \(problem)"); return
        }
        filter.tags = l.tags
      }
      if !l.outcome.isEmpty {
        guard let o = DecisionEvent.Outcome(rawValue: l.outcome) else {
          await call.fail(.invalidArgument, reason: "invalid_request", message: "outcome must be success, failed or cancelled"); return
        }
        filter.outcome = o
      }
      let limit = l.limit > 0 ? Int(min(l.limit, 10_000)) : 100
      filter.limit = limit
      let visibility = DecisionVisibility.of(Self.caller(call.peer), isAdmin: isAdmin(call.peer), router: router)
      do {
        var r = Switchboard_V1_ListDecisionsResponse()
        let rows = try await visibleEvents(filter, limit: limit, visibility)
        if l.asJson { r.eventsJson = rows.map(\.json) } else { r.events = rows.map { ProtoConversion.event($0.event) } }
        response.kind = .listDecisions(r)
      } catch {
        await failRead(call, error); return
      }
    case .setKey(let k):
      guard await requireAdmin(call, "set_key") else { return }
      guard router.configuration.adapters[k.provider] != nil else {
        await call.fail(.notFound, reason: "unknown_provider", message: "unknown provider '\(k.provider)'"); return
      }
      guard !k.apiKey.isEmpty else { await call.fail(.invalidArgument, reason: "invalid_request", message: "api_key is empty"); return }
      let secret = Secret(k.apiKey)
      let size = router.keys.set(secret, for: k.provider)
      logger.notice("api key set", metadata: ["provider.name": "\(k.provider)", "key.fingerprint": "\(secret.fingerprint)"])
      var r = Switchboard_V1_SetKeyResponse()
      r.provider = k.provider; r.keyFingerprint = secret.fingerprint; r.poolSize = UInt32(size)
      response.kind = .setKey(r)
    case .rotateKey(let k):
      guard await requireAdmin(call, "rotate_key") else { return }
      guard router.configuration.adapters[k.provider] != nil else {
        await call.fail(.notFound, reason: "unknown_provider", message: "unknown provider '\(k.provider)'"); return
      }
      guard let active = router.keys.rotate(k.provider, to: k.apiKey.isEmpty ? nil : Secret(k.apiKey)) else {
        await call.fail(.failedPrecondition, reason: "missing_key", message: "provider '\(k.provider)' has no key to rotate"); return
      }
      logger.notice("api key rotated", metadata: ["provider.name": "\(k.provider)", "key.fingerprint": "\(active.fingerprint)"])
      var r = Switchboard_V1_RotateKeyResponse()
      r.provider = k.provider; r.activeKeyFingerprint = active.fingerprint
      r.poolSize = UInt32(router.keys.keys(for: k.provider).count)
      response.kind = .rotateKey(r)
    case .clearKey_p(let k):
      guard await requireAdmin(call, "clear_key") else { return }
      guard router.configuration.adapters[k.provider] != nil else {
        await call.fail(.notFound, reason: "unknown_provider", message: "unknown provider '\(k.provider)'"); return
      }
      let pool = router.keys.clear(k.provider)
      logger.notice("api key store cleared", metadata: ["provider.name": "\(k.provider)", "key.source": "\(pool.first?.source.rawValue ?? "none")"])
      var r = Switchboard_V1_ClearKeyResponse()
      r.provider = k.provider; r.activeKeyFingerprint = pool.first?.fingerprint ?? "none"
      r.poolSize = UInt32(pool.count); r.keySource = pool.first?.source.rawValue ?? "none"
      response.kind = .clearKey_p(r)
    case .reloadConfig(let rc):
      guard await requireAdmin(call, "reload_config") else { return }
      guard rc.path.isEmpty else {
        await call.fail(.invalidArgument, reason: "reload_path_refused",
                        message: "reload takes no path over the socket: the daemon re-reads its own config file (start it with --config to change the file)")
        return
      }
      guard let rt = runtime.runtime else { await call.fail(.unavailable, reason: "draining", message: "shutting down"); return }
      let result = rt.reload(trigger: "admin")
      var r = Switchboard_V1_ReloadConfigResponse()
      r.applied = result.applied; r.errors = result.errors; r.configDigest = result.digest
      response.kind = .reloadConfig(r)
    case nil:
      await call.fail(.invalidArgument, reason: "invalid_request", message: "admin request has no kind"); return
    }
    // A call the client cancelled answers CANCELLED, whatever kind it is (a key
    // set or a reload that already happened is logged above).
    if call.isCancelled || Task.isCancelled {
      await call.fail(.cancelled, reason: "cancelled", message: "the call was cancelled"); return
    }
    await call.finish(.adminResponse(response))
  }

  /// Up to `limit` decisions matching `filter` that `visibility` allows, newest
  /// first. For a non-admin the store is read in pages until enough are found.
  private func visibleEvents(_ filter: DecisionFilter, limit: Int, _ visibility: DecisionVisibility) async throws
    -> [(event: DecisionEvent, json: String)]
  {
    if visibility == .all { return try await audit.eventsJSON(filter: filter) }
    // The store filters by the caller's tenant; `allows` below is the same rule, kept as a guard.
    guard let filter = visibility.narrow(filter) else { return [] }
    var out: [(event: DecisionEvent, json: String)] = []
    var seen = Set<String>()
    var page = filter
    page.limit = max(limit, 500)
    for _ in 0..<20 {
      try Task.checkCancellation()
      let batch = try await audit.eventsJSON(filter: page)
      for row in batch where visibility.allows(row.event) && seen.insert(row.event.requestID).inserted {
        out.append(row)
        if out.count == limit { return out }
      }
      guard batch.count == page.limit, let oldest = batch.last?.event.timestampMs else { break }
      // Rows at the oldest timestamp may continue on the next page; `seen` drops repeats.
      page.untilMs = oldest + 1
      if batch.allSatisfy({ $0.event.timestampMs == oldest }) { page.untilMs = oldest }
    }
    return out
  }
}
