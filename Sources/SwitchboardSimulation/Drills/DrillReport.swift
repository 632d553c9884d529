import SwitchboardCore
/// What `switchboard simulate --list` shows of one drill.
public struct DrillDescriptor: Sendable, Hashable, Codable {
  /// The scenario name (`golden-path`, `thundering-herd`, ...).
  public var name: String
  /// One line on what the drill does and what it checks.
  public var summary: String
  /// Creates a descriptor.
  public init(name: String, summary: String) { self.name = name; self.summary = summary }
}

/// Knobs a drill run can change, mostly so tests can prove an invariant check bites.
public struct DrillOptions: Sendable, Hashable {
  /// Replaces the drill's circuit breaker settings (nil = the drill's own).
  public var circuit: CircuitPolicy?
  /// Seed of the simulated providers (default 7).
  public var seed: UInt64 = 7
  /// Replaces the drill route's retry settings (nil = the drill's own).
  public var retry: RetryPolicy?
  /// Replaces the retry budget (nil = the drill's own; `maxTokens: 0` turns it off).
  public var retryBudget: RetryBudget.Policy?
  /// Replaces the drill route's timeouts (nil = the drill's own).
  public var timeouts: TimeoutPolicy?
  /// Whether SLA-excluded candidates get trial requests (default true).
  public var slaTrials = true
  /// How long latency samples count (nil = the router's default, 5 minutes).
  public var latencyWindow: Duration?
  /// `tiered-routing`: whether the route classifies requests into tiers (false:
  /// the same candidates under `priority`, to prove the drill's checks bite). Default true.
  public var tieredClassification = true
  /// Whether drills of hedged routes hedge (default true; false proves `hedged-tail` fails without it).
  public var hedging = true
  /// Creates default options.
  public init(circuit: CircuitPolicy? = nil, seed: UInt64 = 7, retry: RetryPolicy? = nil, retryBudget: RetryBudget.Policy? = nil,
              timeouts: TimeoutPolicy? = nil, slaTrials: Bool = true, latencyWindow: Duration? = nil, hedging: Bool = true) {
    self.latencyWindow = latencyWindow
    self.hedging = hedging
    self.circuit = circuit; self.seed = seed; self.retry = retry; self.retryBudget = retryBudget
    self.timeouts = timeouts; self.slaTrials = slaTrials
  }
}

/// The result of one drill: a virtual-time timeline and the invariants it broke.
public struct DrillReport: Sendable, Hashable, Codable {
  /// The scenario name.
  public var name: String
  /// Whether every invariant held (`violations` is empty).
  public var passed: Bool { violations.isEmpty }
  /// What happened, one line per event, times in virtual milliseconds
  /// (`t=1200ms request_id=.. attempt=1 provider=sim-a/llama-3.3 failed=timeout reason=timeout`).
  public var timeline: [String]
  /// Each broken invariant, in words; empty when the drill passed.
  public var violations: [String]
  /// Invariants checked, in words (for the CLI's output).
  public var checks: [String]
  /// Creates a report.
  public init(name: String, timeline: [String], violations: [String], checks: [String] = []) {
    self.name = name; self.timeline = timeline; self.violations = violations; self.checks = checks
  }

  enum CodingKeys: String, CodingKey { case name, passed, timeline, violations, checks }
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    name = try c.decode(String.self, forKey: .name)
    timeline = try c.decode([String].self, forKey: .timeline)
    violations = try c.decode([String].self, forKey: .violations)
    checks = try c.decodeIfPresent([String].self, forKey: .checks) ?? []
  }
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(name, forKey: .name)
    try c.encode(passed, forKey: .passed)
    try c.encode(timeline, forKey: .timeline)
    try c.encode(violations, forKey: .violations)
    try c.encode(checks, forKey: .checks)
  }

  /// The report as text: timeline, then PASS/FAIL and any violations.
  public var rendered: String {
    var lines = timeline
    lines.append(passed ? "drill=\(name) result=PASS checks=\(checks.count)" : "drill=\(name) result=FAIL violations=\(violations.count)")
    for v in violations { lines.append("violation: \(v)") }
    return lines.joined(separator: "\n")
  }
}

/// Running a drill failed before it could check anything.
public struct DrillError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The name asked for.
  public var name: String
  /// Why.
  public var message: String
  /// Creates an error.
  public init(name: String, message: String) { self.name = name; self.message = message }
  public var description: String { "drill '\(name)': \(message)" }
}
