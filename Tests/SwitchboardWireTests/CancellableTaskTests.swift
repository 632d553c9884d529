import Synchronization
import Testing

@testable import SwitchboardWire

/// One child task of a discarding group cancelled on its own: before it starts, while
/// it runs, after it ended; its siblings and the group are left alone.
@Suite("Cancellable child task")
struct CancellableTaskTests {
  /// What a child saw, and a way to wait for it without timing.
  final class Probe: Sendable {
    let started: AsyncStream<Void>
    private let startedContinuation: AsyncStream<Void>.Continuation
    private let seen = Mutex<[String]>([])
    init() { (started, startedContinuation) = AsyncStream.makeStream(of: Void.self) }
    func start() { startedContinuation.yield() }
    func note(_ s: String) { seen.withLock { $0.append(s) } }
    var all: [String] { seen.withLock { $0 } }
  }

  /// Runs until cancelled (bounded: a child that is never cancelled ends after 60 s and says so).
  static func untilCancelled(_ probe: Probe, _ name: String) async {
    probe.start()
    do {
      try await Task.sleep(for: .seconds(60))
      probe.note("\(name) not cancelled")
    } catch {
      probe.note("\(name) cancelled")
    }
  }

  @Test func cancellingOneRunningChildLeavesItsSiblingsAlone() async {
    let probe = Probe()
    let a = CancellableTaskHandle(), b = CancellableTaskHandle()
    await withDiscardingTaskGroup { group in
      group.addCancellableTask(handle: a) { await Self.untilCancelled(probe, "a") }
      group.addCancellableTask(handle: b) {
        probe.start()
        probe.note(Task.isCancelled ? "b cancelled" : "b ran")
      }
      var starts = probe.started.makeAsyncIterator()
      _ = await starts.next(); _ = await starts.next()
      a.cancel()
      a.cancel()  // idempotent
    }
    #expect(probe.all.sorted() == ["a cancelled", "b ran"])
  }

  @Test func aHandleCancelledBeforeItsTaskStartsMakesItStartCancelled() async {
    let probe = Probe()
    let handle = CancellableTaskHandle()
    handle.cancel()
    await withDiscardingTaskGroup { group in
      group.addCancellableTask(handle: handle) { probe.note(Task.isCancelled ? "started cancelled" : "started") }
    }
    #expect(probe.all == ["started cancelled"])
  }

  @Test func cancellingAfterTheTaskEndedDoesNothing() async {
    let probe = Probe()
    let handle = CancellableTaskHandle()
    await withDiscardingTaskGroup { group in
      group.addCancellableTask(handle: handle) { probe.note("ran") }
    }
    handle.cancel()  // the task is gone: must not touch it
    #expect(probe.all == ["ran"])
  }

  @Test func manyCallsCancelledWhileOthersFinishAllEnd() async {
    // Cancels racing with tasks ending, many times over: every task ends, each once.
    let probe = Probe()
    let handles = (0..<500).map { _ in CancellableTaskHandle() }
    await withDiscardingTaskGroup { group in
      for (i, h) in handles.enumerated() {
        group.addCancellableTask(handle: h) {
          if i % 2 == 0 { await Self.untilCancelled(probe, "even") } else { probe.note("odd"); await Task.yield() }
        }
      }
      for h in handles { h.cancel() }
    }
    #expect(probe.all.count == 500)
    #expect(probe.all.filter { $0 == "even not cancelled" }.isEmpty)
  }
}
