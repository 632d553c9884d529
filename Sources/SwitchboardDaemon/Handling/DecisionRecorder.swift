import Logging
import SwitchboardAudit
import SwitchboardCore

/// What every front end (the socket, the HTTP endpoint) does with a finished
/// decision: feed the metrics (with the daemon's own overhead, the request's
/// time minus its upstream attempts) and log one line per attempt and one per
/// decision (in JSON, the decision line carries the whole event under `decision`,
/// in the shape of docs/decision-event.schema.json). One shared type so both front ends log and count alike.
public struct DecisionRecorder: Sendable {
  /// The metrics registry.
  public let metrics: SwitchboardMetrics
  /// The daemon's logger.
  public let logger: Logger

  /// Creates a recorder.
  public init(metrics: SwitchboardMetrics, logger: Logger) {
    self.metrics = metrics; self.logger = logger
  }

  /// Records `event` for a request that began at `started`.
  public func record(_ event: DecisionEvent, started: ContinuousClock.Instant) {
    let total = ContinuousClock.now - started
    let upstream = event.attempts.reduce(0.0) { $0 + $1.latencyMs }
    let overhead = max(.zero, total - .microseconds(Int64(upstream * 1000)))
    metrics.record(event, overhead: overhead)
    log(event)
  }

  private func log(_ event: DecisionEvent) {
    guard logger.logLevel <= .info else { return }
    for a in event.attempts {
      var md: Logger.Metadata = [
        "request.id": "\(event.requestID)", "route.name": "\(event.route)", "attempt.index": .stringConvertible(a.index),
        "provider.name": "\(a.provider)", "provider.model": "\(a.model)", "attempt.outcome": "\(a.outcome.rawValue)",
        "attempt.latency_ms": .stringConvertible(Int(a.latencyMs)), "key.source": "\(a.keySource.rawValue)",
        "key.fingerprint": "\(a.keyFingerprint)",
      ]
      if let t = event.traceID { md["trace.id"] = "\(t)" }
      if let r = a.reason { md["attempt.reason"] = "\(r.rawValue)" }
      if let c = a.failureClass { md["attempt.failure_class"] = "\(c.rawValue)" }
      if let s = a.httpStatus { md["http.status"] = .stringConvertible(s) }
      if let c = a.costUSD { md["attempt.cost_usd"] = .stringConvertible(LogUSD(c)) }
      if let t = a.timeoutFired { md["attempt.timeout_fired"] = "\(t)" }
      logger.info("attempt", metadata: md)
    }
    var md: Logger.Metadata = [
      "request.id": "\(event.requestID)", "route.name": "\(event.route)", "tenant": "\(event.tenant)",
      "decision.outcome": "\(event.outcome.rawValue)", "decision.attempts": .stringConvertible(event.attemptsMade),
      "decision.latency_ms": .stringConvertible(Int(event.totalLatencyMs)),
    ]
    if event.attemptsSkipped > 0 { md["decision.attempts_skipped"] = .stringConvertible(event.attemptsSkipped) }
    if let t = event.traceID { md["trace.id"] = "\(t)" }
    if let p = event.chosenProvider, let m = event.chosenModel { md["decision.served_by"] = "\(p)/\(m)" }
    if let b = event.baselineProvider, let m = event.baselineModel { md["decision.baseline"] = "\(b)/\(m)" }
    if let c = event.costUSD { md["decision.cost_usd"] = .stringConvertible(LogUSD(c)) }
    if let d = event.costDeltaUSD { md["decision.cost_delta_usd"] = .stringConvertible(LogUSD(d)) }
    if let r = event.reason { md["decision.reason"] = "\(r.rawValue)" }
    // The whole decision in its one JSON shape (JSON lines only; logfmt leaves it out).
    md["decision"] = .stringConvertible(JSONLogDocument { DecisionJSON.encode(event) })
    logger.info("decision", metadata: md)
  }
}
