/// The embedded default: three simulated providers from the design exercise and
/// one route, so `switchboard demo` runs with nothing installed and no keys.
public enum DemoConfiguration {
  /// A: cheap but variable (its first call times out); B: stable but expensive;
  /// C: fast with a low token cap.
  public static let yaml = """
    listen:
      socket: /tmp/switchboard-demo.sock
    audit:
      path: ""
    logging:
      level: warning
    providers:
      sim-a:
        kind: simulated
        seed: 11
        latency_ms: {p50: 300, p99: 1200}
        script: [timeout]
        faults: [{error: provider_5xx, rate: 0.05}]
      sim-b:
        kind: simulated
        seed: 12
        latency_ms: {p50: 900, p99: 1100}
      sim-c:
        kind: simulated
        seed: 13
        latency_ms: {p50: 80, p99: 150}
        output_tokens: 24
    models:
      sim-a/llama-3.3: {input: 0.59, output: 0.79, context: 131072, max_output: 8192, capabilities: [tools, streaming]}
      sim-b/claude-3.5: {input: 3.0, output: 15.0, context: 200000, max_output: 8192, capabilities: [tools, streaming, prefill]}
      sim-c/mistral-small: {input: 0.2, output: 0.6, context: 32000, max_output: 256, capabilities: [streaming]}
    routes:
      payments-assist:
        strategy: score
        candidates: [sim-a/llama-3.3, sim-b/claude-3.5, sim-c/mistral-small]
        constraints: {max_cost_usd: 0.008}
        retry: {max_attempts: 3, deadline_ms: 10000}
        timeouts: {connect_ms: 500, first_token_ms: 1500, idle_ms: 1000, attempt_ms: 1500}
        on_stream_failure: restart
        budget: {per_tenant_daily_usd: {soft: 40, hard: 50}}
    """
}
