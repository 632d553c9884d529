import Yams

extension DaemonConfiguration {
  /// Parses the `tracing:` block; the default (off) when absent. Messages name the
  /// key and what is expected, never the value found.
  static func parseTracing(_ r: ConfigReader, _ node: Node?) -> TracingConfiguration {
    var t = TracingConfiguration()
    guard let node, node.null == nil else { return t }
    let d = r.dict(node, "tracing", allowed: ["otlp_endpoint", "sample_ratio", "service_name", "export_interval_ms", "export_timeout_ms"])
    if let v = r.string(d["otlp_endpoint"], "tracing.otlp_endpoint") {
      if v.isEmpty {
        t.otlpEndpoint = nil  // explicitly off
      } else if v.utf8.count > 2048 {
        r.issue("tracing.otlp_endpoint", d["otlp_endpoint"], "longer than 2048 bytes")
      } else if let problem = TracingConfiguration.endpointProblem(v) {
        r.issue("tracing.otlp_endpoint", d["otlp_endpoint"], problem)
      } else {
        t.otlpEndpoint = v
      }
    }
    if let v = r.double(d["sample_ratio"], "tracing.sample_ratio", min: 0, max: 1) { t.sampleRatio = v }
    if let v = r.string(d["service_name"], "tracing.service_name") {
      if TracingConfiguration.isValidServiceName(v) { t.serviceName = v }
      else { r.issue("tracing.service_name", d["service_name"], "expected 1-128 printable ASCII characters") }
    }
    if let v = r.millis(d["export_interval_ms"], "tracing.export_interval_ms", min: 10, max: 600_000) { t.exportInterval = v }
    if let v = r.millis(d["export_timeout_ms"], "tracing.export_timeout_ms", min: 10, max: 600_000) { t.exportTimeout = v }
    if t.otlpEndpoint == nil, d["otlp_endpoint"] == nil, !d.isEmpty {
      r.issue("tracing.otlp_endpoint", node, "required to turn tracing on (the other tracing keys do nothing without it)")
    }
    return t
  }
}
