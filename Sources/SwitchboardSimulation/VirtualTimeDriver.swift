import SwitchboardCore
import Synchronization

/// Runs concurrent work on a `VirtualClock` and moves virtual time forward only
/// when the work is quiescent: every live task is suspended in the clock's `sleep`.
/// Then it advances to the earliest deadline, and repeats until every task is done.
///
/// The rule for the work: each task sleeps on `clock` at most once at a time and
/// waits on nothing else that only time would release (no wall-clock sleeps, no
/// other clocks). Simulated providers, the router and its executor all qualify;
/// a task that runs child tasks in parallel (the executor's hedges) announces each
/// with `clock.parallelWorkChanged(by:)`, and the driver counts them as live.
///
/// ```swift
/// let driver = VirtualTimeDriver(clock: clock)
/// let outcomes = try await driver.run(100) { i in
///   try await clock.sleep(until: Instant(nanoseconds: Int64(i) * 10_000_000))  // staggered arrivals
///   return await router.complete(request)
/// }
/// ```
public struct VirtualTimeDriver: Sendable {
  /// The work did not reach quiescence: a task waits on something other than the clock.
  public struct Stalled: Error, CustomStringConvertible, Sendable {
    /// Tasks still running.
    public var live: Int
    /// Tasks asleep on the clock.
    public var sleeping: Int
    public var description: String { "virtual time stalled: \(live) task(s) live, \(sleeping) asleep on the clock" }
  }

  /// The clock being driven.
  public let clock: VirtualClock
  /// Scheduler turns without progress before `run` gives up with `Stalled` (default 5,000,000).
  public var maxIdleSpins: Int
  /// Upper bound of clock advances per `run` (default 10,000,000), against runaway loops.
  public var maxAdvances: Int

  /// Creates a driver for `clock`.
  public init(clock: VirtualClock, maxIdleSpins: Int = 5_000_000, maxAdvances: Int = 10_000_000) {
    self.clock = clock; self.maxIdleSpins = maxIdleSpins; self.maxAdvances = maxAdvances
  }

  /// Runs `count` tasks of `body` concurrently (each gets its index) and drives the
  /// clock until all finish; returns their results in index order. A task's error
  /// is rethrown after the others are cancelled.
  public func run<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
    guard count > 0 else { return [] }
    let live = LiveCount(count)
    let clock = self.clock
    let maxIdleSpins = self.maxIdleSpins, maxAdvances = self.maxAdvances
    return try await withThrowingTaskGroup(of: (Int, T?).self) { group in
      for i in 0..<count {
        group.addTask {
          defer { live.value.subtract(1, ordering: .sequentiallyConsistent) }
          return (i, try await body(i))
        }
      }
      group.addTask {
        var idle = 0
        var advances = 0
        while true {
          let tasks = live.value.load(ordering: .sequentiallyConsistent)
          if tasks == 0 { return (-1, nil) }
          // Child tasks a task runs in parallel (a hedge) count as live work too.
          let n = tasks + max(0, clock.parallelWork)
          let sleeping = clock.sleeperCount
          if sleeping >= n, clock.advanceToNextDeadline() {
            advances += 1
            idle = 0
            if advances > maxAdvances { throw Stalled(live: n, sleeping: sleeping) }
          } else {
            idle += 1
            if idle > maxIdleSpins { throw Stalled(live: n, sleeping: sleeping) }
          }
          await Task.yield()
        }
      }
      var results = [T?](repeating: nil, count: count)
      do {
        for try await (i, value) in group where i >= 0 { results[i] = value }
      } catch {
        group.cancelAll()
        // Sleepers of cancelled tasks wake with CancellationError; let the rest drain.
        throw error
      }
      return results.map { $0! }
    }
  }

  /// Runs one operation, driving the clock until it finishes.
  public func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await run(1) { _ in try await body() }[0]
  }
}

/// Tasks of a `VirtualTimeDriver.run` still running.
private final class LiveCount: Sendable {
  let value: Atomic<Int>
  init(_ n: Int) { value = Atomic(n) }
}
