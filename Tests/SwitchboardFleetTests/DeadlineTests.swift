import Synchronization
import Testing
@testable import SwitchboardFleet

/// The bound every database call runs under, without a database: a driver call
/// that never returns (and ignores cancellation) cannot hold the caller; a caller
/// that goes away (a client disconnecting mid-settle) does not interrupt it.
@Suite struct DeadlineTests {
  final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
  }

  @Test func anOperationThatNeverReturnsTimesOut() async {
    do {
      _ = try await withDeadline(.milliseconds(50), "settle") { () async throws -> Int in
        // Ignores cancellation, like a driver stuck on a dead socket.
        await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in }
        return 1
      }
      Issue.record("must time out")
    } catch let e as FleetStoreError {
      #expect(e.code == .timeout)
      #expect(e.message == "settle")
    } catch {
      Issue.record("unexpected \(error)")
    }
  }

  @Test func theCallersCancellationDoesNotInterruptTheOperation() async throws {
    let finished = Flag()
    let callerCancelled = Flag()
    let caller = Task {
      try await withDeadline(.seconds(300), "settle") { () async throws -> Int in
        // Not cancelled when the caller is: it runs in its own task. It waits until the
        // caller's cancel has happened (a state: 20 yields outlasted a 30 s deadline in a
        // loaded parallel run); a cancel that reached it would end these sleeps with an error.
        while !callerCancelled.isSet { try await Task.sleep(for: .milliseconds(1)) }
        try await Task.sleep(for: .milliseconds(20))
        #expect(!Task.isCancelled)
        finished.set()
        return 7
      }
    }
    caller.cancel()
    callerCancelled.set()
    let v = try await caller.value
    #expect(v == 7)
    #expect(finished.isSet)
  }

  @Test func aTimedOutOperationIsCancelled() async throws {
    let sawCancel = Flag()
    _ = try? await withDeadline(.milliseconds(20), "reserve") { () async throws -> Int in
      // Waits like a call queued for a pooled connection, which honours cancellation.
      do { try await Task.sleep(for: .seconds(30)) } catch { sawCancel.set() }
      return 0
    }
    let deadline = ContinuousClock.now + .seconds(30)  // a wait for the state, generous for a loaded machine
    while !sawCancel.isSet && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
    #expect(sawCancel.isSet, "the queued call is withdrawn, so it cannot commit later")
  }
}
