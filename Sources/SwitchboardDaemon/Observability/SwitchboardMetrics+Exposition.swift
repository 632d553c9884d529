import SwitchboardCore

/// The text exposition: every family, rendered from the registry's state and the
/// snapshots passed in.
extension SwitchboardMetrics {
  /// Renders every family in the Prometheus text exposition format 0.0.4.
  ///
  /// - Parameters:
  ///   - circuits: The health board's snapshot, for `switchboard_circuit_state`.
  ///   - budgets: The budget ledger's snapshot, for the budget gauges. Remaining is
  ///     `max(0, hard - spent - reserved)`: what a new reservation could still take.
  ///   - process: Process statistics for the `process_*` families; default: read from
  ///     `/proc` now (nil off Linux: the families are left out).
  public func render(circuits: [CircuitSnapshot], budgets: [BudgetSnapshot],
                     process: ProcessStatistics? = ProcessStatistics.current()) -> String {
    let s = state.withLock { $0 }
    var out = ""
    out.reserveCapacity(8192 + 160 * (s.requests.count + s.attempts.count + 4 * s.usage.count
                                      + 14 * (s.upstreamLatency.count + s.firstToken.count + s.requestDuration.count)))

    PrometheusText.header(&out, name: "switchboard_requests_total", type: "counter",
                          help: "Requests finished, by route and outcome (success, failed, cancelled).")
    for (k, v) in s.requests.sorted(by: { ($0.key.route, $0.key.outcome.rawValue) < ($1.key.route, $1.key.outcome.rawValue) }) {
      PrometheusText.sample(&out, name: "switchboard_requests_total",
                            labels: ["route": k.route, "outcome": k.outcome.rawValue], value: String(v))
    }

    PrometheusText.header(&out, name: "switchboard_request_duration_seconds", type: "histogram",
                          help: "End-to-end duration of requests as the caller saw it (every attempt and wait included), by route.")
    for (route, h) in s.requestDuration.sorted(by: { $0.key < $1.key }) {
      Self.renderHistogram(&out, name: "switchboard_request_duration_seconds", labels: [("route", route)], h,
                           bounds: Self.requestDurationBuckets)
    }

    PrometheusText.header(&out, name: "switchboard_attempts_total", type: "counter",
                          help: "Upstream attempts, by candidate, outcome (success, failed, skipped, cancelled), failure class and reason.")
    let attempts = s.attempts.map { (k, v) in
      ([k.provider, k.model, k.cancelled ? "cancelled" : k.outcome.rawValue, k.failureClass?.rawValue ?? "", k.reason?.rawValue ?? ""], v)
    }.sorted { $0.0.lexicographicallyPrecedes($1.0) }
    for (l, v) in attempts {
      PrometheusText.sample(&out, name: "switchboard_attempts_total",
                            labels: ["provider": l[0], "model": l[1], "outcome": l[2], "failure_class": l[3], "reason": l[4]],
                            value: String(v))
    }

    let usage = s.usage.sorted { ($0.key.route, $0.key.provider, $0.key.model, $0.key.tenant)
      < ($1.key.route, $1.key.provider, $1.key.model, $1.key.tenant) }
    let usageFamilies: [(name: String, help: String, value: (UsageCounters) -> String)] = [
      ("switchboard_input_tokens_total", "Input (prompt) tokens the providers reported, cached ones included, by route, provider, model and tenant.",
       { String($0.inputTokens) }),
      ("switchboard_output_tokens_total", "Output (completion) tokens the providers reported, by route, provider, model and tenant.",
       { String($0.outputTokens) }),
      ("switchboard_cached_input_tokens_total", "Input tokens served from the provider's prompt cache, by route, provider, model and tenant.",
       { String($0.cachedInputTokens) }),
      ("switchboard_spend_usd_total", "USD the budget ledger charged for attempts (failed and cut ones included), by route, provider, model and tenant.",
       { PrometheusText.format(MicroUSD($0.spendMicroUSD).usd) }),
    ]
    for family in usageFamilies {
      PrometheusText.header(&out, name: family.name, type: "counter", help: family.help)
      for (k, v) in usage {
        PrometheusText.sample(&out, name: family.name,
                              labels: ["route": k.route, "provider": k.provider, "model": k.model, "tenant": k.tenant],
                              value: family.value(v))
      }
    }

    PrometheusText.header(&out, name: "switchboard_time_to_first_token_seconds", type: "histogram",
                          help: "Time from the start of a streamed attempt to its first content or tool-call delta, by route, provider and model.")
    for (k, h) in s.firstToken.sorted(by: { ($0.key.route, $0.key.provider, $0.key.model) < ($1.key.route, $1.key.provider, $1.key.model) }) {
      Self.renderHistogram(&out, name: "switchboard_time_to_first_token_seconds",
                           labels: [("route", k.route), ("provider", k.provider), ("model", k.model)], h,
                           bounds: Self.firstTokenBuckets)
    }

    PrometheusText.header(&out, name: "switchboard_circuit_state", type: "gauge",
                          help: "Circuit breaker state per provider, model and key fingerprint: 0 closed, 1 half-open, 2 open.")
    for c in circuits.sorted(by: { $0.key.description < $1.key.description }) {
      let value: String
      switch c.state {
      case "open": value = "2"
      case "half_open": value = "1"
      default: value = "0"
      }
      PrometheusText.sample(&out, name: "switchboard_circuit_state",
                            labels: ["provider": c.key.provider, "model": c.key.model, "key": c.key.keyFingerprint],
                            value: value)
    }

    let sortedBudgets = budgets.sorted { ($0.scope, $0.window) < ($1.scope, $1.window) }
    PrometheusText.header(&out, name: "switchboard_budget_spent_usd", type: "gauge",
                          help: "USD spent in the current budget window, by scope.")
    for b in sortedBudgets {
      PrometheusText.sample(&out, name: "switchboard_budget_spent_usd", labels: ["scope": b.scope, "window": b.window],
                            value: PrometheusText.format(b.spent.usd))
    }
    PrometheusText.header(&out, name: "switchboard_budget_remaining_usd", type: "gauge",
                          help: "USD left under the hard cap in the current window (spend and open reservations deducted), by scope.")
    for b in sortedBudgets {
      guard let hard = b.limit.hard else { continue }
      PrometheusText.sample(&out, name: "switchboard_budget_remaining_usd", labels: ["scope": b.scope, "window": b.window],
                            value: PrometheusText.format(max(.zero, hard - b.spent - b.reserved).usd))
    }
    PrometheusText.header(&out, name: "switchboard_budget_soft_exceeded_total", type: "counter",
                          help: "Requests that pushed a budget scope over its soft cap.")
    for (scope, v) in s.softExceeded.sorted(by: { $0.key < $1.key }) {
      PrometheusText.sample(&out, name: "switchboard_budget_soft_exceeded_total", labels: ["scope": scope], value: String(v))
    }
    PrometheusText.header(&out, name: "switchboard_budget_overage_total", type: "counter",
                          help: "Settles that charged more than their reservation (the provider reported more than the worst case), by scope@window.")
    let overages = s.overages.sorted { $0.key < $1.key }
    for (scope, v) in overages {
      PrometheusText.sample(&out, name: "switchboard_budget_overage_total", labels: ["scope": scope], value: String(v.count))
    }
    PrometheusText.header(&out, name: "switchboard_budget_overage_usd_total", type: "counter",
                          help: "USD charged above the reservations, by scope@window.")
    for (scope, v) in overages {
      PrometheusText.sample(&out, name: "switchboard_budget_overage_usd_total", labels: ["scope": scope],
                            value: PrometheusText.format(MicroUSD(v.micro).usd))
    }

    PrometheusText.header(&out, name: "switchboard_upstream_latency_seconds", type: "histogram",
                          help: "Latency of upstream attempts that were sent, by provider and model.")
    for (k, h) in s.upstreamLatency.sorted(by: { ($0.key.provider, $0.key.model) < ($1.key.provider, $1.key.model) }) {
      Self.renderHistogram(&out, name: "switchboard_upstream_latency_seconds",
                           labels: [("provider", k.provider), ("model", k.model)], h, bounds: Self.upstreamLatencyBuckets)
    }

    PrometheusText.header(&out, name: "switchboard_overhead_seconds", type: "histogram",
                          help: "Time the sidecar itself spent per request, upstream time excluded.")
    Self.renderHistogram(&out, name: "switchboard_overhead_seconds", labels: [], s.overhead, bounds: Self.overheadBuckets)

    PrometheusText.header(&out, name: "switchboard_in_flight", type: "gauge", help: "Requests being served now.")
    PrometheusText.sample(&out, name: "switchboard_in_flight", labels: [], value: String(inFlight.load(ordering: .relaxed)))
    PrometheusText.header(&out, name: "switchboard_http_in_flight", type: "gauge",
                          help: "Requests the OpenAI-compatible HTTP endpoint is serving now.")
    PrometheusText.sample(&out, name: "switchboard_http_in_flight", labels: [], value: String(httpInFlightCount.load(ordering: .relaxed)))

    PrometheusText.header(&out, name: "switchboard_frames_rejected_total", type: "counter",
                          help: "Frames the socket server refused, by reason.")
    for (reason, v) in s.framesRejected.sorted(by: { $0.key < $1.key }) {
      PrometheusText.sample(&out, name: "switchboard_frames_rejected_total", labels: ["reason": reason], value: String(v))
    }

    PrometheusText.header(&out, name: "switchboard_audit_write_failures_total", type: "counter",
                          help: "Decision events the audit store failed to write.")
    PrometheusText.sample(&out, name: "switchboard_audit_write_failures_total", labels: [],
                          value: String(auditWriteFailures.load(ordering: .relaxed)))

    PrometheusText.header(&out, name: "switchboard_config_reloads_total", type: "counter",
                          help: "Configuration reloads (SIGHUP or admin), by result.")
    for (applied, label) in [(true, "applied"), (false, "rejected")] {
      PrometheusText.sample(&out, name: "switchboard_config_reloads_total", labels: ["result": label],
                            value: String(s.reloads[applied] ?? 0))
    }

    PrometheusText.header(&out, name: "switchboard_build_info", type: "gauge",
                          help: "Always 1; the labels name the running build.")
    PrometheusText.sample(&out, name: "switchboard_build_info", labels: buildLabels, value: "1")

    if let process { Self.renderProcess(&out, process) }
    return out
  }

  private static func renderProcess(_ out: inout String, _ p: ProcessStatistics) {
    let families: [(String, String, String, Double)] = [
      ("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", p.residentMemoryBytes),
      ("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", p.virtualMemoryBytes),
      ("process_open_fds", "gauge", "Number of open file descriptors.", p.openFDs),
      ("process_max_fds", "gauge", "Maximum number of open file descriptors (soft limit).", p.maxFDs),
      ("process_cpu_seconds_total", "counter", "User and system CPU time spent, in seconds.", p.cpuSeconds),
      ("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, in seconds.", p.startTimeSeconds),
    ]
    for (name, type, help, value) in families {
      PrometheusText.header(&out, name: name, type: type, help: help)
      PrometheusText.sample(&out, name: name, labels: [], value: PrometheusText.format(value))
    }
  }

  static func renderHistogram(_ out: inout String, name: String, labels: [(key: String, value: String)],
                                      _ h: HistogramState, bounds: [Double]) {
    var cumulative: UInt64 = 0
    for (i, bound) in bounds.enumerated() {
      cumulative += h.counts[i]
      PrometheusText.sample(&out, name: name + "_bucket", labels: labels + [("le", PrometheusText.format(bound))],
                            value: String(cumulative))
    }
    cumulative += h.counts[bounds.count]
    PrometheusText.sample(&out, name: name + "_bucket", labels: labels + [("le", "+Inf")], value: String(cumulative))
    PrometheusText.sample(&out, name: name + "_sum", labels: labels, value: PrometheusText.format(h.sum))
    PrometheusText.sample(&out, name: name + "_count", labels: labels, value: String(h.count))
  }
}
