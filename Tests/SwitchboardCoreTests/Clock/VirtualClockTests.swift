import Synchronization
import Testing

@testable import SwitchboardCore
import SwitchboardSimulation

@Suite("VirtualClock")
struct VirtualClockTests {
  @Test func advanceWakesSleepersInDeadlineOrderOnly() async throws {
    let clock = VirtualClock()
    let order = Mutex<[Int]>([])
    let driver = VirtualTimeDriver(clock: clock)
    _ = try await driver.run(3) { i in
      let ms = [300, 100, 200][i]
      try await clock.sleep(until: Instant(nanoseconds: 0).advanced(by: .milliseconds(ms)))
      order.withLock { $0.append(ms) }
      return ms
    }
    #expect(order.withLock { $0 } == [100, 200, 300])
    #expect(clock.now() == Instant(nanoseconds: 0).advanced(by: .milliseconds(300)))
  }

  @Test func pastDeadlineReturnsAtOnce() async throws {
    let clock = VirtualClock()
    clock.advance(by: .seconds(5))
    try await clock.sleep(until: Instant(nanoseconds: 0).advanced(by: .seconds(1)))
    #expect(clock.sleeperCount == 0)
  }

  @Test func cancellingARegisteredSleeperThrowsAndUnregisters() async throws {
    let clock = VirtualClock()
    let task = Task { try await clock.sleep(for: .seconds(10)) }
    while clock.sleeperCount == 0 { await Task.yield() }
    task.cancel()
    await #expect(throws: CancellationError.self) { try await task.value }
    #expect(clock.sleeperCount == 0)
    #expect(clock.bookkeepingCount == 0)
  }

  @Test func alreadyCancelledTaskSleepThrowsWithoutRegistering() async throws {
    let clock = VirtualClock()
    let task = Task {
      withUnsafeCurrentTask { $0?.cancel() }
      try await clock.sleep(for: .seconds(10))
    }
    await #expect(throws: CancellationError.self) { try await task.value }
    #expect(clock.sleeperCount == 0)
    #expect(clock.bookkeepingCount == 0)
  }

  @Test func cancelAfterWakeLeavesNoBookkeeping() async throws {
    let clock = VirtualClock()
    let woke = Mutex(false)
    let task = Task {
      try await clock.sleep(for: .milliseconds(5))
      woke.withLock { $0 = true }
      // Stay alive without sleeping on the clock until cancelled.
      while !Task.isCancelled { await Task.yield() }
    }
    while clock.sleeperCount == 0 { await Task.yield() }
    clock.advance(by: .milliseconds(5))
    while !woke.withLock({ $0 }) { await Task.yield() }
    task.cancel()
    _ = try? await task.value
    #expect(clock.bookkeepingCount == 0)
  }

  @Test func wallClockFollowsVirtualTime() {
    let clock = VirtualClock(wallOriginMillis: 1_000)
    clock.advance(by: .milliseconds(1500))
    #expect(clock.wallMillis() == 2_500)
    clock.advance(to: Instant(nanoseconds: 0))  // never backwards
    #expect(clock.wallMillis() == 2_500)
  }

  @Test func driverRunsStaggeredWorkWithoutWallTime() async throws {
    let clock = VirtualClock()
    let driver = VirtualTimeDriver(clock: clock)
    let finished = try await driver.run(100) { i in
      try await clock.sleep(for: .seconds(Int64(i)))
      try await clock.sleep(for: .milliseconds(500))
      return clock.now()
    }
    #expect(finished.enumerated().allSatisfy { $0.element == Instant(nanoseconds: 0).advanced(by: .seconds(Int64($0.offset)) + .milliseconds(500)) })
  }

  @Test func driverReportsAStallInsteadOfHanging() async throws {
    let clock = VirtualClock()
    let driver = VirtualTimeDriver(clock: clock, maxIdleSpins: 2_000)
    let gate = Mutex(false)
    await #expect(throws: VirtualTimeDriver.Stalled.self) {
      _ = try await driver.run(1) { _ in
        while !gate.withLock({ $0 }) && !Task.isCancelled { await Task.yield() }
        return 0
      }
    }
  }

  @Test func durationNanosecondsHandlesNegativeAndHuge() {
    #expect(Duration.milliseconds(-1500).nanoseconds == -1_500_000_000)
    #expect(Duration.seconds(Int64.max).nanoseconds == .max)
    #expect(Instant(nanoseconds: 0).advanced(by: .milliseconds(250)).duration(since: Instant(nanoseconds: 0)) == .milliseconds(250))
  }
}
