import SwitchboardCore
/// Chaos drills on simulated providers and a virtual clock: each runs a scenario
/// through a real `Router`, checks the routing invariants it is about, and returns a
/// `DrillReport` with a timeline. Deterministic: same build, same report.
/// The CLI exposes them as `switchboard simulate SCENARIO` and `--list`.
public enum Drills {
  /// Every drill, in the order `--list` shows them.
  public static var all: [DrillDescriptor] { catalogue.map(\.descriptor) }

  /// The descriptor of `name`, if there is such a drill.
  public static func descriptor(named name: String) -> DrillDescriptor? {
    catalogue.first { $0.descriptor.name == name }?.descriptor
  }

  /// Runs the drill called `name`; throws `DrillError` for an unknown name, or
  /// when the simulation cannot finish (a `VirtualTimeDriver.Stalled`).
  public static func run(_ name: String, options: DrillOptions = .init()) async throws -> DrillReport {
    guard let entry = catalogue.first(where: { $0.descriptor.name == name }) else {
      throw DrillError(name: name, message: "unknown drill; known: " + all.map(\.name).joined(separator: ", "))
    }
    return try await entry.run(options)
  }

  /// Runs every drill in catalogue order.
  public static func runAll(options: DrillOptions = .init()) async throws -> [DrillReport] {
    var out: [DrillReport] = []
    for d in catalogue { out.append(try await d.run(options)) }
    return out
  }

  struct Entry: Sendable {
    var descriptor: DrillDescriptor
    var run: @Sendable (DrillOptions) async throws -> DrillReport
  }

  static let catalogue: [Entry] = [
    Entry(descriptor: DrillDescriptor(
      name: "golden-path",
      summary: "the primary times out; the request fails over to the fallback and is explained"),
      run: goldenPath),
    Entry(descriptor: DrillDescriptor(
      name: "primary-outage",
      summary: "the primary is down for good; every request is served by the fallback with bounded attempts"),
      run: primaryOutage),
    Entry(descriptor: DrillDescriptor(
      name: "rate-limit-storm",
      summary: "429s: short Retry-After retried in place, long ones fail over and keep the key idle for the Retry-After"),
      run: rateLimitStorm),
    Entry(descriptor: DrillDescriptor(
      name: "flapping-primary",
      summary: "the primary is down, then healthy: fallback meanwhile, one probe at a time, back soon after recovery"),
      run: flappingPrimary),
    Entry(descriptor: DrillDescriptor(
      name: "budget-exhausted",
      summary: "bursts of 100 concurrent requests against a daily hard cap: the cap holds, the soft cap warns"),
      run: budgetExhausted),
    Entry(descriptor: DrillDescriptor(
      name: "stream-cut",
      summary: "a stream cut mid-answer under on_stream_failure restart, continue and error; a cut before the first chunk"),
      run: streamCut),
    Entry(descriptor: DrillDescriptor(
      name: "thundering-herd",
      summary: "500 requests during an outage: one probe per cooldown reaches the dead provider, no herd"),
      run: thunderingHerd),
    Entry(descriptor: DrillDescriptor(
      name: "stale-success",
      summary: "a slow success of an attempt admitted before the circuit opened does not close it; only the probe does"),
      run: staleSuccess),
    Entry(descriptor: DrillDescriptor(
      name: "retry-storm",
      summary: "a 5xx storm across 200 concurrent requests: retries back off and stay within the provider's retry budget"),
      run: retryStorm),
    Entry(descriptor: DrillDescriptor(
      name: "sla-recovery",
      summary: "a slow primary excluded by the latency SLA gets trials and is re-admitted after it recovers"),
      run: slaRecovery),
    Entry(descriptor: DrillDescriptor(
      name: "long-unary",
      summary: "a 20 s non-streamed generation succeeds with the default timeouts; a stream that slow fails over"),
      run: longUnary),
    Entry(descriptor: DrillDescriptor(
      name: "tiered-routing",
      summary: "strategy tiered: rules pick a tier without a router call; the router answers, times out, lies, and trips its circuit"),
      run: tieredRouting),
    Entry(descriptor: DrillDescriptor(
      name: "hedged-tail",
      summary: "a primary with a heavy latency tail: hedging after its p95 improves the served p99 within the budget"),
      run: hedgedTail),
  ]
}
