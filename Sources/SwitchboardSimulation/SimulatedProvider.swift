import SwitchboardCore
import Foundation
import Synchronization

/// Settings of a simulated provider (in process, seeded, no network).
public struct SimulatedProviderConfiguration: Sendable, Hashable {
  /// One scripted or random fault.
  public struct Fault: Sendable, Hashable {
    /// A reason code (`timeout`, `provider_5xx`, `rate_limited`, `stream_cut`, ...), or `ok`, or `slow`,
    /// or `keepalive_stall` (streamed: content stops part-way, keep-alives go on).
    public var kind: String
    /// Probability per call for random faults (ignored in scripts).
    public var rate: Double
    /// Retry-After to send with `rate_limited` / `provider_5xx`.
    public var retryAfter: Duration?
    /// Creates a fault.
    public init(_ kind: String, rate: Double = 1, retryAfter: Duration? = nil) {
      self.kind = kind; self.rate = rate; self.retryAfter = retryAfter
    }
  }
  /// RNG seed.
  public var seed: UInt64 = 1
  /// Median latency of a whole answer.
  public var latencyP50: Duration = .milliseconds(200)
  /// 99th percentile latency.
  public var latencyP99: Duration = .milliseconds(800)
  /// Extra delay before the first chunk.
  public var firstTokenDelay: Duration = .zero
  /// Words in each answer (capped by max_tokens).
  public var outputTokens = 40
  /// Random faults, checked in order.
  public var faults: [Fault] = []
  /// Per-call sequence consumed first.
  public var script: [Fault] = []
  /// Windows (offsets on the router clock) during which every call fails with connect_failed.
  public var downWindows: [Range<Duration>] = []
  /// Windows (offsets on the router clock) during which every call is 10x slower
  /// (a degraded provider that still answers).
  public var slowWindows: [Range<Duration>] = []
  /// Creates the default settings.
  public init() {}
}

/// An in-process provider with a latency distribution and fault rates/scripts,
/// behind the same protocol the HTTP adapters implement; its time runs on the
/// router's clock, so drills and tests are deterministic on a `VirtualClock`.
public final class SimulatedProvider: ProviderAdapter {
  /// One call as the provider saw it.
  public struct CallRecord: Sendable, Hashable {
    public var at: Instant
    public var model: String
    public var outcome: String
    public var prefill: Bool
  }
  struct State: Sendable {
    var rng: SplitMix64
    var script: [SimulatedProviderConfiguration.Fault]
    var calls: [CallRecord] = []
  }
  public let name: String
  public var kind: String { "simulated" }
  public var conventionalKeyEnvironmentVariable: String? { nil }
  public var requiresKey: Bool { false }
  /// The settings.
  public let configuration: SimulatedProviderConfiguration
  private let state: Mutex<State>

  /// Creates a simulated provider.
  public init(name: String, configuration: SimulatedProviderConfiguration) {
    self.name = name
    self.configuration = configuration
    self.state = Mutex(State(rng: SplitMix64(seed: configuration.seed), script: configuration.script))
  }

  /// The most recent calls (up to ``callLogLimit``), oldest first. Bounded so a
  /// daemon serving a simulated provider for millions of requests stays flat.
  public var calls: [CallRecord] { state.withLock { Array($0.calls.suffix(Self.callLogLimit)) } }

  /// How many calls ``calls`` keeps.
  public static let callLogLimit = 10_000

  private static let words = ("the router keeps every request on a healthy provider within its budget and explains "
    + "each decision so operators can see the route the failure the fallback and the cost delta against baseline").split(separator: " ").map(String.init)

  public func complete(_ call: ProviderCall, onDelta: DeltaHandler?) async throws -> ProviderResponse {
    let clock = call.clock
    let start = clock.now()
    let offset = start.duration(since: Instant(nanoseconds: 0))
    let down = configuration.downWindows.contains { $0.contains(offset) }
    let degraded = configuration.slowWindows.contains { $0.contains(offset) }
    let (fault, latency, fraction): (SimulatedProviderConfiguration.Fault, Duration, Double) = state.withLock { s in
      var f = SimulatedProviderConfiguration.Fault("ok")
      if down {
        f = .init("connect_failed")
      } else if !s.script.isEmpty {
        f = s.script.removeFirst()
      } else {
        for candidate in configuration.faults where s.rng.nextUnit() < candidate.rate { f = candidate; break }
      }
      // Log-normal latency with the configured median and p99.
      let p50 = max(1e-6, configuration.latencyP50.milliseconds), p99 = max(p50, configuration.latencyP99.milliseconds)
      let sigma = log(p99 / p50) / 2.326
      let u1 = max(1e-12, s.rng.nextUnit()), u2 = s.rng.nextUnit()
      let z = sqrt(-2 * log(u1)) * cos(2 * Double.pi * u2)
      var ms = p50 * exp(sigma * z)
      if f.kind == "slow" || degraded { ms *= 10 }
      if s.calls.count >= 2 * Self.callLogLimit { s.calls.removeFirst(s.calls.count - Self.callLogLimit) }
      s.calls.append(CallRecord(at: start, model: call.model, outcome: f.kind, prefill: call.prefill != nil))
      return (f, .microseconds(Int64(ms * 1000)), s.rng.nextUnit())
    }
    let limits = call.limits
    let deadlineReason: ReasonCode = limits.deadlineIsOverall ? .deadlineExceeded : .timeout

    /// Sleeps `d`, or until the first limit that `d` would cross (then throws it).
    func wait(_ d: Duration, limit: Duration?, limitReason: ReasonCode, afterHeaders: Bool) async throws {
      let target = clock.now().advanced(by: d)
      var cutoff = limits.deadline
      var reason = deadlineReason
      if let limit, clock.now().advanced(by: limit) < cutoff { cutoff = clock.now().advanced(by: limit); reason = limitReason }
      if target <= cutoff {
        try await clock.sleep(until: target)
      } else {
        try await clock.sleep(until: cutoff)
        throw ProviderFailure(reason, message: "simulated \(reason.rawValue)", afterHeaders: afterHeaders, silent: !afterHeaders)
      }
    }

    let hang = Duration.seconds(86_400)
    // The same limits as the HTTP adapters: a unary call is bounded by connect and
    // the attempt deadline only; the first-token limit applies to streams, until the
    // first content delta.
    let streaming = onDelta != nil
    let firstTokenLimit = streaming ? limits.firstToken : nil
    switch fault.kind {
    case "ok", "slow", "keepalive_stall": break
    case "timeout":
      try await wait(hang, limit: nil, limitReason: .timeout, afterHeaders: false)
    case "first_token_timeout":
      // Streamed: the head and keep-alives come, content never does. Unary: a hang.
      try await wait(hang, limit: firstTokenLimit, limitReason: .firstTokenTimeout, afterHeaders: streaming)
    case "connect_failed":
      try await wait(.milliseconds(1), limit: limits.connect, limitReason: .connectFailed, afterHeaders: false)
      throw ProviderFailure(.connectFailed, message: "simulated connection refused")
    case "connection_reset":
      try await wait(.milliseconds(2), limit: nil, limitReason: .timeout, afterHeaders: false)
      throw ProviderFailure(.connectionReset, message: "simulated reset before headers")
    case "stream_cut", "stream_stalled", "malformed":
      break  // fails part-way below
    default:
      // Errors answered by the provider after a short think.
      try await wait(latency / 10, limit: firstTokenLimit, limitReason: .firstTokenTimeout, afterHeaders: false)
      let reason = ReasonCode(fault.kind)
      let status: Int
      switch reason {
      case .provider5xx: status = 503
      case .rateLimited: status = 429
      case .invalidCredentials: status = 401
      case .modelNotFound: status = 404
      case .quotaExhausted: status = 402
      case .contextLengthExceeded, .invalidRequest, .contentPolicy, .prefillRejected: status = 400
      default: status = 500
      }
      throw ProviderFailure(reason, httpStatus: status, retryAfter: fault.retryAfter, message: "simulated \(fault.kind)")
    }

    // Build the answer.
    let maxTokens = call.request.maxTokens ?? configuration.outputTokens
    let count = max(1, min(configuration.outputTokens, maxTokens))
    var rng = SplitMix64(seed: configuration.seed &+ UInt64(call.request.messages.count) &+ UInt64(call.model.utf8.count))
    var answer: [String] = call.prefill == nil ? ["[\(name)/\(call.model)]"] : []
    while answer.count < count { answer.append(Self.words[Int(rng.next() % UInt64(Self.words.count))]) }
    let text = answer.joined(separator: " ")
    let finish: FinishReason = count < configuration.outputTokens ? .length : .stop
    let usage = Usage(inputTokens: TokenEstimator.estimateInputTokens(call.request) + (call.prefill.map { TokenEstimator.estimateTokens($0) } ?? 0),
                      outputTokens: count)

    guard let onDelta else {
      // The whole generation happens before the head: bounded by the attempt deadline only.
      try await wait(configuration.firstTokenDelay + latency, limit: nil, limitReason: .timeout, afterHeaders: false)
      return ProviderResponse(content: call.prefill != nil ? " " + text : text, finishReason: finish, usage: usage, model: call.model)
    }

    // Stream in chunks of four words.
    let chunks = stride(from: 0, to: answer.count, by: 4).map { answer[$0..<min($0 + 4, answer.count)].joined(separator: " ") }
    let firstGap = configuration.firstTokenDelay + latency * 0.3
    let gap = chunks.count > 1 ? (latency * 0.7) / (chunks.count - 1) : .zero
    let cutAt = max(1, Int(Double(chunks.count) * (0.3 + 0.4 * fraction)))
    var sent = ""
    for (i, chunk) in chunks.enumerated() {
      if i == 0 {
        try await wait(firstGap, limit: limits.firstToken, limitReason: .firstTokenTimeout, afterHeaders: false)
      } else {
        if fault.kind == "stream_stalled" && i == cutAt {
          try await wait(hang, limit: limits.idle, limitReason: .streamStalled, afterHeaders: true)
        }
        if fault.kind == "keepalive_stall" && i == cutAt {
          // Keep-alives every idle/2 and no content: they never restart the idle
          // limit, only stretch the content gap up to the keep-alive ceiling.
          let ceiling = max(limits.idle, limits.keepAliveCeiling ?? limits.idle)
          try await wait(hang, limit: ceiling, limitReason: .streamStalled, afterHeaders: true)
        }
        if fault.kind == "stream_cut" && i == cutAt {
          throw ProviderFailure(.streamCut, message: "simulated stream cut after \(i) chunks", afterHeaders: true)
        }
        if fault.kind == "malformed" && i == cutAt {
          throw ProviderFailure(.invalidResponse, message: "simulated malformed chunk", afterHeaders: true)
        }
        try await wait(gap, limit: limits.idle, limitReason: .streamStalled, afterHeaders: true)
      }
      let piece = (i == 0 && call.prefill == nil) ? chunk : " " + chunk
      sent += piece
      try await onDelta(.text(piece))
    }
    return ProviderResponse(content: sent, finishReason: finish, usage: usage, model: call.model)
  }
}
