import Synchronization

/// Observed behaviour of one candidate.
public struct CandidateObservation: Sendable, Hashable {
  /// Exponential moving average of successful attempt latency.
  public var latencyEMA: Duration?
  /// 95th percentile of the last successful latencies.
  public var latencyP95: Duration?
  /// Exponentially weighted success rate in [0, 1] (1 when untried).
  public var reliability: Double
  /// Attempts currently running.
  public var inFlight: Int
  /// Attempts ever made.
  public var attempts: Int
}

/// Latency and reliability of every candidate, for the planner and strategies.
public final class CandidateStatsBoard: Sendable {
  struct Entry: Sendable {
    var ema: Double?  // ns
    var window: [Double] = []  // last latencies, ns (ring)
    var next = 0
    var reliability = 1.0
    var inFlight = 0
    var attempts = 0
  }
  private static let windowSize = 64
  private static let alpha = 0.2
  private let entries = Mutex<[CandidateRef: Entry]>([:])

  /// Creates an empty board.
  public init() {}

  /// Marks an attempt as started.
  public func begin(_ ref: CandidateRef) {
    entries.withLock { e in e[ref, default: Entry()].inFlight += 1; e[ref, default: Entry()].attempts += 1 }
  }

  /// Marks an attempt as ended; a latency is recorded on success, or for a failure that took time.
  public func end(_ ref: CandidateRef, success: Bool, latency: Duration?) {
    entries.withLock { all in
      var e = all[ref, default: Entry()]
      e.inFlight = max(0, e.inFlight - 1)
      e.reliability = e.reliability * (1 - Self.alpha) + (success ? 1 : 0) * Self.alpha
      if let latency {
        let ns = Double(latency.nanoseconds)
        e.ema = e.ema.map { $0 * (1 - Self.alpha) + ns * Self.alpha } ?? ns
        if e.window.count < Self.windowSize { e.window.append(ns) } else { e.window[e.next] = ns }
        e.next = (e.next + 1) % Self.windowSize
      }
      all[ref] = e
    }
  }

  /// The observation of `ref` (defaults for an untried candidate).
  public func observation(_ ref: CandidateRef) -> CandidateObservation {
    entries.withLock { all in
      guard let e = all[ref] else {
        return CandidateObservation(latencyEMA: nil, latencyP95: nil, reliability: 1, inFlight: 0, attempts: 0)
      }
      var p95: Duration?
      if !e.window.isEmpty {
        let sorted = e.window.sorted()
        let idx = min(sorted.count - 1, Int((Double(sorted.count) * 0.95).rounded(.up)) - 1)
        p95 = .nanoseconds(Int64(sorted[max(0, idx)]))
      }
      return CandidateObservation(
        latencyEMA: e.ema.map { .nanoseconds(Int64($0)) }, latencyP95: p95, reliability: e.reliability,
        inFlight: e.inFlight, attempts: e.attempts)
    }
  }
}
