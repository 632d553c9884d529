import Synchronization
import SwitchboardCore

/// One queued event and who waits for its commit.
struct PendingWrite: Sendable {
  var event: DecisionEvent
  /// Resumed once the event's batch is committed (or failed); nil when nobody waits.
  var waiter: CheckedContinuation<Void, Never>?
  /// 1-based position in the queue's history.
  var sequence: UInt64
}

/// The queue between `record` callers and the single writer task.
///
/// A state struct behind a `Mutex`; every mutating call returns the continuations to
/// resume, which the caller resumes outside the lock.
struct AuditWriteQueue {
  enum Lifecycle { case open, closing }

  private(set) var lifecycle = Lifecycle.open
  private var pending: [PendingWrite] = []
  private var head = 0
  private var parkedWriter: CheckedContinuation<Void, Never>?
  private var flushWaiters: [(target: UInt64, waiter: CheckedContinuation<Void, Never>)] = []
  private(set) var enqueued: UInt64 = 0
  private(set) var completed: UInt64 = 0
  private(set) var writerFinished = false

  init() {}

  var isEmpty: Bool { head == pending.count }

  /// Queues an event; returns the parked writer to wake, if any. `nil` sequence means
  /// the queue is closed and the caller must write the event itself.
  mutating func enqueue(_ event: DecisionEvent, waiter: CheckedContinuation<Void, Never>?)
    -> (accepted: Bool, wake: CheckedContinuation<Void, Never>?)
  {
    guard lifecycle == .open else { return (false, nil) }
    enqueued += 1
    pending.append(PendingWrite(event: event, waiter: waiter, sequence: enqueued))
    let w = parkedWriter
    parkedWriter = nil
    return (true, w)
  }

  enum NextBatch { case batch([PendingWrite]), finished, park }

  /// The writer's next step: a batch of up to `max` events, parking, or finishing.
  mutating func nextBatch(max: Int) -> NextBatch {
    if !isEmpty {
      let end = Swift.min(pending.count, head + max)
      let batch = Array(pending[head..<end])
      head = end
      if head == pending.count { pending.removeAll(keepingCapacity: true); head = 0 }
      else if head > 4096 { pending.removeFirst(head); head = 0 }
      return .batch(batch)
    }
    if lifecycle == .closing { return .finished }
    return .park
  }

  /// Parks the writer unless there is already work (then returns it to resume at once).
  mutating func park(_ writer: CheckedContinuation<Void, Never>) -> CheckedContinuation<Void, Never>? {
    if !isEmpty || lifecycle == .closing { return writer }
    parkedWriter = writer
    return nil
  }

  /// Marks a batch done; returns everyone to resume (its waiters and satisfied flushes).
  mutating func complete(_ batch: [PendingWrite]) -> [CheckedContinuation<Void, Never>] {
    var resume = batch.compactMap(\.waiter)
    if let last = batch.last?.sequence { completed = Swift.max(completed, last) }
    resume.append(contentsOf: takeSatisfiedFlushes())
    return resume
  }

  /// Registers a flush waiting for everything enqueued so far; returns it if already satisfied.
  mutating func flush(_ waiter: CheckedContinuation<Void, Never>) -> CheckedContinuation<Void, Never>? {
    if completed >= enqueued || writerFinished { return waiter }
    flushWaiters.append((enqueued, waiter))
    return nil
  }

  /// Stops accepting events; returns the parked writer to wake so it can drain and finish.
  mutating func close() -> CheckedContinuation<Void, Never>? {
    lifecycle = .closing
    let w = parkedWriter
    parkedWriter = nil
    return w
  }

  /// Called when the writer exits: releases any flush still waiting.
  mutating func writerDidFinish() -> [CheckedContinuation<Void, Never>] {
    writerFinished = true
    let all = flushWaiters.map(\.waiter)
    flushWaiters.removeAll()
    return all
  }

  private mutating func takeSatisfiedFlushes() -> [CheckedContinuation<Void, Never>] {
    guard !flushWaiters.isEmpty else { return [] }
    var done: [CheckedContinuation<Void, Never>] = []
    flushWaiters.removeAll { f in
      if f.target <= completed { done.append(f.waiter); return true }
      return false
    }
    return done
  }
}
