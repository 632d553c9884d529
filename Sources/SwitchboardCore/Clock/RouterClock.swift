import Foundation
import Synchronization

/// A point on a monotonic timeline, in nanoseconds from an arbitrary origin.
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
  /// Nanoseconds since the clock's origin.
  public var nanoseconds: Int64
  /// Creates an instant `nanoseconds` after the clock's origin.
  public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
  /// The instant `duration` after this one.
  public func advanced(by duration: Duration) -> Instant {
    Instant(nanoseconds: nanoseconds &+ duration.nanoseconds)
  }
  /// The duration from `other` to this instant (negative when `other` is later).
  public func duration(since other: Instant) -> Duration { .nanoseconds(nanoseconds - other.nanoseconds) }
  public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }
  public var description: String { "t+\(nanoseconds / 1_000_000)ms" }
}

extension Duration {
  /// The duration in whole nanoseconds (saturating).
  public var nanoseconds: Int64 {
    let (s, a) = components
    let (m, o) = s.multipliedReportingOverflow(by: 1_000_000_000)
    if o { return s < 0 ? .min : .max }
    return m &+ a / 1_000_000_000
  }
  /// The duration in milliseconds as a floating-point number.
  public var milliseconds: Double { Double(nanoseconds) / 1_000_000 }
  /// A duration from a millisecond count.
  public static func ms(_ value: Int) -> Duration { .milliseconds(value) }
}

/// The routing core's only source of time: the real clock in production, a
/// `VirtualClock` in tests and drills, so cooldowns and timeouts are deterministic.
public protocol RouterClock: Sendable {
  /// Monotonic now.
  func now() -> Instant
  /// Wall-clock now in milliseconds since the Unix epoch (for budget windows and events).
  func wallMillis() -> Int64
  /// Suspends until `deadline`; throws `CancellationError` when the task is cancelled.
  func sleep(until deadline: Instant) async throws
  /// Tells a virtual clock's harness that `delta` more (or, negative, fewer) units
  /// of work run in parallel inside the tasks it drives (a request that runs a
  /// hedge in a child task), so it does not move time while one of them is busy.
  /// The system clock ignores it.
  func parallelWorkChanged(by delta: Int)
}

extension RouterClock {
  /// Nothing to account on a real clock.
  public func parallelWorkChanged(by delta: Int) {}

  /// Suspends for `duration`.
  public func sleep(for duration: Duration) async throws {
    try await sleep(until: now().advanced(by: duration))
  }
}

/// The system's monotonic clock.
public struct SystemClock: RouterClock {
  private static let origin = ContinuousClock.now
  /// Creates the system clock.
  public init() {}
  public func now() -> Instant {
    Instant(nanoseconds: (ContinuousClock.now - Self.origin).nanoseconds)
  }
  public func wallMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
  public func sleep(until deadline: Instant) async throws {
    let d = deadline.duration(since: now())
    if d > .zero { try await Task.sleep(for: d) }
    try Task.checkCancellation()
  }
}

/// A clock that only moves when told to. Sleepers wake in deadline order when
/// `advance` passes their deadline. `sleeperCount` lets a harness detect quiescence.
public final class VirtualClock: RouterClock {
  private struct Sleeper {
    var id: UInt64
    var deadline: Instant
    var continuation: CheckedContinuation<Void, any Error>
  }
  private struct State {
    var now = Instant(nanoseconds: 0)
    var wallOrigin: Int64
    var nextID: UInt64 = 0
    var sleepers: [Sleeper] = []
    /// Sleeps that have begun but not yet registered or returned.
    var pending: Set<UInt64> = []
    /// Pending sleeps cancelled before they registered.
    var cancelled: Set<UInt64> = []
    /// Units of parallel work inside the driven tasks (``RouterClock/parallelWorkChanged(by:)``).
    var parallel = 0
  }
  private let state: Mutex<State>

  /// Creates a virtual clock at t=0 whose wall clock starts at `wallOriginMillis`.
  public init(wallOriginMillis: Int64 = 1_767_225_600_000) {
    state = Mutex(State(wallOrigin: wallOriginMillis))
  }

  public func now() -> Instant { state.withLock { $0.now } }
  public func wallMillis() -> Int64 { state.withLock { $0.wallOrigin + $0.now.nanoseconds / 1_000_000 } }

  /// How many tasks are suspended in `sleep` right now.
  public var sleeperCount: Int { state.withLock { $0.sleepers.count } }
  /// Units of parallel work announced by the work (``RouterClock/parallelWorkChanged(by:)``):
  /// a harness counts them as live tasks.
  public var parallelWork: Int { state.withLock { $0.parallel } }
  public func parallelWorkChanged(by delta: Int) { state.withLock { $0.parallel += delta } }
  /// Ids the clock still remembers for sleeps in progress or cancelled before they
  /// registered (for leak checks; 0 when nothing is in flight).
  var bookkeepingCount: Int { state.withLock { $0.pending.count + $0.cancelled.count } }
  /// The earliest deadline of a sleeper, if any.
  public var nextDeadline: Instant? { state.withLock { $0.sleepers.map(\.deadline).min() } }

  public func sleep(until deadline: Instant) async throws {
    let id = state.withLock { s -> UInt64 in s.nextID += 1; s.pending.insert(s.nextID); return s.nextID }
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
        let action: Result<Void, any Error>? = state.withLock { s in
          s.pending.remove(id)
          if s.cancelled.remove(id) != nil { return .failure(CancellationError()) }
          if deadline <= s.now { return .success(()) }
          s.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: c))
          return nil
        }
        if let action { c.resume(with: action) }
      }
    } onCancel: {
      let c: CheckedContinuation<Void, any Error>? = state.withLock { s in
        if let i = s.sleepers.firstIndex(where: { $0.id == id }) {
          return s.sleepers.remove(at: i).continuation
        }
        // Not registered yet: the sleep must fail as soon as it registers. Already
        // woken (or returned): nothing to do — remembering the id would leak it.
        if s.pending.contains(id) { s.cancelled.insert(id) }
        return nil
      }
      c?.resume(throwing: CancellationError())
    }
  }

  /// Moves time forward by `duration`, waking every sleeper whose deadline has passed.
  public func advance(by duration: Duration) {
    advance(to: now().advanced(by: duration))
  }

  /// Moves time to `instant` (never backwards), waking sleepers in deadline order.
  public func advance(to instant: Instant) {
    let woken: [CheckedContinuation<Void, any Error>] = state.withLock { s in
      if instant > s.now { s.now = instant }
      let now = s.now
      let due = s.sleepers.filter { $0.deadline <= now }.sorted { $0.deadline < $1.deadline }
      s.sleepers.removeAll { $0.deadline <= now }
      return due.map(\.continuation)
    }
    for c in woken { c.resume() }
  }

  /// Advances to the earliest sleeper's deadline; returns false when nobody sleeps.
  @discardableResult
  public func advanceToNextDeadline() -> Bool {
    guard let next = nextDeadline else { return false }
    advance(to: next)
    return true
  }
}
