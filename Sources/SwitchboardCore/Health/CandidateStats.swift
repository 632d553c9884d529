import Synchronization

/// Observed behaviour of one candidate.
public struct CandidateObservation: Sendable, Hashable {
  /// Exponential moving average of the latencies within the window (nil when none).
  public var latencyEMA: Duration?
  /// 95th percentile of the latencies within the window (nil when none).
  public var latencyP95: Duration?
  /// Exponentially weighted success rate in [0, 1] (1 when untried).
  public var reliability: Double
  /// Attempts currently running.
  public var inFlight: Int
  /// Attempts ever made.
  public var attempts: Int
  /// Latency samples within the window.
  public var samples: Int
  /// 95th percentile of the times to first token within the window (a unary call's
  /// is its whole latency; a hedge loser's is the time it ran, a lower bound), nil when none.
  public var firstTokenP95: Duration? = nil
  /// First-token samples within the window.
  public var firstTokenSamples: Int = 0
}

/// Latency and reliability of every candidate, for the planner and strategies.
///
/// Latency samples age out: only the last `maxSamples` within `window` count, so a
/// candidate that was slow an hour ago is judged by what it does now (and, with no
/// recent sample, counts as untried again).
public final class CandidateStatsBoard: Sendable {
  struct Sample: Sendable { var at: Instant; var ns: Double }
  struct Entry: Sendable {
    var window: [Sample] = []  // ring of the last samples
    var next = 0
    var reliability = 1.0
    var inFlight = 0
    var attempts = 0
    /// The last SLA trial admitted for this candidate.
    var lastTrial: Instant?
    /// Ring of the last times to first token.
    var firstTokens: [Sample] = []
    var nextFirstToken = 0
  }
  /// Samples kept per candidate.
  public static let maxSamples = 64
  private static let alpha = 0.2
  private let entries = Mutex<[CandidateRef: Entry]>([:])
  private let clock: any RouterClock
  /// How long a latency sample counts.
  public let window: Duration

  /// Creates an empty board measuring on `clock`; samples older than `window` age out.
  public init(clock: any RouterClock = SystemClock(), window: Duration = .seconds(300)) {
    self.clock = clock
    self.window = window
  }

  /// Marks an attempt as started.
  public func begin(_ ref: CandidateRef) {
    entries.withLock { e in e[ref, default: Entry()].inFlight += 1; e[ref, default: Entry()].attempts += 1 }
  }

  /// Marks an attempt as ended; a latency is recorded on success, or for a failure that took time.
  public func end(_ ref: CandidateRef, success: Bool, latency: Duration?) {
    let now = clock.now()
    entries.withLock { all in
      var e = all[ref, default: Entry()]
      e.inFlight = max(0, e.inFlight - 1)
      e.reliability = e.reliability * (1 - Self.alpha) + (success ? 1 : 0) * Self.alpha
      if let latency {
        let s = Sample(at: now, ns: Double(latency.nanoseconds))
        if e.window.count < Self.maxSamples { e.window.append(s) } else { e.window[e.next] = s }
        e.next = (e.next + 1) % Self.maxSamples
      }
      all[ref] = e
    }
  }

  /// Marks an attempt as ended without a verdict on the provider (a hedge loser,
  /// cancelled because another attempt answered first): neither latency nor reliability changes.
  public func abandon(_ ref: CandidateRef) {
    entries.withLock { all in all[ref, default: Entry()].inFlight = max(0, all[ref, default: Entry()].inFlight - 1) }
  }

  /// Records a time to first token of `ref` (for `hedge: {after_ms: p95}`).
  public func recordFirstToken(_ ref: CandidateRef, _ latency: Duration) {
    let now = clock.now()
    entries.withLock { all in
      var e = all[ref, default: Entry()]
      let s = Sample(at: now, ns: Double(latency.nanoseconds))
      if e.firstTokens.count < Self.maxSamples { e.firstTokens.append(s) } else { e.firstTokens[e.nextFirstToken] = s }
      e.nextFirstToken = (e.nextFirstToken + 1) % Self.maxSamples
      all[ref] = e
    }
  }

  /// Admits one SLA trial request for `ref` if none was admitted within `interval`
  /// (a candidate excluded by the latency SLA gets one attempt per interval, so its
  /// figures can recover). Returns whether this caller got the trial.
  public func claimTrial(_ ref: CandidateRef, interval: Duration, now: Instant) -> Bool {
    entries.withLock { all in
      var e = all[ref, default: Entry()]
      if let last = e.lastTrial, now < last.advanced(by: interval) { return false }
      e.lastTrial = now
      all[ref] = e
      return true
    }
  }

  /// The observation of `ref` now (defaults for an untried candidate).
  public func observation(_ ref: CandidateRef) -> CandidateObservation {
    let now = clock.now()
    return entries.withLock { all in
      guard let e = all[ref] else {
        return CandidateObservation(latencyEMA: nil, latencyP95: nil, reliability: 1, inFlight: 0, attempts: 0, samples: 0)
      }
      // Oldest first: the ring from `next` when full.
      let ordered = e.window.count < Self.maxSamples ? e.window : Array(e.window[e.next...] + e.window[..<e.next])
      let cutoff = now.advanced(by: .zero - window)
      let live = ordered.filter { $0.at >= cutoff }
      var p95: Duration?
      var ema: Double?
      if !live.isEmpty {
        let sorted = live.map(\.ns).sorted()
        let idx = min(sorted.count - 1, Int((Double(sorted.count) * 0.95).rounded(.up)) - 1)
        p95 = .nanoseconds(Int64(sorted[max(0, idx)]))
        for s in live { ema = ema.map { $0 * (1 - Self.alpha) + s.ns * Self.alpha } ?? s.ns }
      }
      let firstLive = e.firstTokens.filter { $0.at >= cutoff }.map(\.ns).sorted()
      var firstP95: Duration?
      if !firstLive.isEmpty {
        let idx = min(firstLive.count - 1, Int((Double(firstLive.count) * 0.95).rounded(.up)) - 1)
        firstP95 = .nanoseconds(Int64(firstLive[max(0, idx)]))
      }
      return CandidateObservation(
        latencyEMA: ema.map { .nanoseconds(Int64($0)) }, latencyP95: p95, reliability: e.reliability,
        inFlight: e.inFlight, attempts: e.attempts, samples: live.count, firstTokenP95: firstP95,
        firstTokenSamples: firstLive.count)
    }
  }
}
