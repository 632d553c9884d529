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

  init(router: Router, audit: AuditStore, recorder: DecisionRecorder, runtime: RuntimeReference) {
    self.router = router; self.audit = audit; self.recorder = recorder; self.logger = recorder.logger; self.runtime = runtime
  }

  func handleCompletion(_ request: Switchboard_V1_CompletionRequest, call: ServerCall) async {
    let started = ContinuousClock.now
    let chat: ChatRequest
    do {
      chat = try ProtoConversion.chatRequest(request)
    } catch let e as RequestValidationError {
      await call.fail(.invalidArgument, reason: "invalid_request", message: e.message, requestID: request.requestID)
      return
    } catch {
      await call.fail(.invalidArgument, reason: "invalid_request", message: "\(error)", requestID: request.requestID)
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
    let outcome = await router.complete(chat, context: RequestContext(peerUID: call.peer?.uid), sink: sink)
    let event = outcome.event

    switch outcome.result {
    case .success(let result):
      await call.finish(.completionResponse(ProtoConversion.response(result)))
    case .failure(let error):
      await call.fail(ProtoConversion.statusCode(error.code), reason: error.reason.rawValue, message: error.message,
                      retryable: error.retryable, retryAfterMs: UInt32(clamping: Int(error.retryAfter?.milliseconds ?? 0)),
                      requestID: event.requestID)
    }
    recorder.record(event, started: started)
  }

  // MARK: - admin

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
      h.budgets = router.ledger.snapshot(wallMillis: router.clock.wallMillis()).map { b in
        var p = Switchboard_V1_BudgetState()
        p.scope = b.scope; p.window = b.window; p.spentUsd = b.spent; p.reservedUsd = b.reserved
        if let s = b.limit.soft { p.optSoftLimitUsd = .softLimitUsd(s) }
        if let h = b.limit.hard { p.optHardLimitUsd = .hardLimitUsd(h) }
        return p
      }
      response.kind = .health(h)
    case .explain(let e):
      guard !e.requestID.isEmpty else {
        await call.fail(.invalidArgument, reason: "invalid_request", message: "request_id is required"); return
      }
      do {
        guard let event = try await audit.event(requestID: e.requestID) else {
          await call.fail(.notFound, reason: "unknown_request", message: "no decision recorded for request \(e.requestID)"); return
        }
        var x = Switchboard_V1_ExplainResponse()
        x.event = ProtoConversion.event(event)
        x.text = DecisionExplainer.render(event)
        response.kind = .explain(x)
      } catch {
        await call.fail(.internal, reason: "audit_error", message: "cannot read the audit store: \(error)"); return
      }
    case .listDecisions(let l):
      var filter = DecisionFilter()
      if l.sinceMs > 0 { filter.sinceMs = l.sinceMs }
      if l.untilMs > 0 { filter.untilMs = l.untilMs }
      if !l.route.isEmpty { filter.route = l.route }
      if !l.tenant.isEmpty { filter.tenant = l.tenant }
      if !l.provider.isEmpty { filter.provider = l.provider }
      if !l.outcome.isEmpty {
        guard let o = DecisionEvent.Outcome(rawValue: l.outcome) else {
          await call.fail(.invalidArgument, reason: "invalid_request", message: "outcome must be success, failed or cancelled"); return
        }
        filter.outcome = o
      }
      filter.limit = l.limit > 0 ? Int(min(l.limit, 10_000)) : 100
      do {
        var r = Switchboard_V1_ListDecisionsResponse()
        r.events = try await audit.events(filter: filter).map(ProtoConversion.event)
        response.kind = .listDecisions(r)
      } catch {
        await call.fail(.internal, reason: "audit_error", message: "cannot read the audit store: \(error)"); return
      }
    case .setKey(let k):
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
    case .reloadConfig(let rc):
      guard let rt = runtime.runtime else { await call.fail(.unavailable, reason: "draining", message: "shutting down"); return }
      let result = rt.reload(path: rc.path)
      var r = Switchboard_V1_ReloadConfigResponse()
      r.applied = result.applied; r.errors = result.errors; r.configDigest = result.digest
      response.kind = .reloadConfig(r)
    case nil:
      await call.fail(.invalidArgument, reason: "invalid_request", message: "admin request has no kind"); return
    }
    await call.finish(.adminResponse(response))
  }
}
