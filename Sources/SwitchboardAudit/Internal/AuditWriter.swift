import Foundation
import GRDB
import Logging
import Synchronization
import SwitchboardCore

/// The machinery behind ``AuditStore``: the queue, the single writer loop and counters.
///
/// Kept apart from the store so the writer task does not keep the store alive.
final class AuditWriter: Sendable {
  let db: any DatabaseWriter
  let logger: Logger
  let batchMax: Int
  /// Non-durable mode: events queued but not yet written beyond which `enqueue`
  /// waits for the commit like durable mode (backpressure instead of unbounded growth).
  let maxQueued: Int
  let queue = Mutex(AuditWriteQueue())
  let committedEvents = Atomic<UInt64>(0)
  let failedEvents = Atomic<UInt64>(0)
  let batches = Atomic<UInt64>(0)
  let failedBatches = Atomic<UInt64>(0)

  init(db: any DatabaseWriter, logger: Logger, batchMax: Int, maxQueued: Int = AuditStoreConfiguration.defaultMaxQueuedEvents) {
    self.db = db
    self.logger = logger
    self.batchMax = max(1, batchMax)
    self.maxQueued = max(1, maxQueued)
  }

  // MARK: producer side

  /// Queues an event and waits for its commit.
  func enqueueAndWait(_ event: DecisionEvent) async {
    var accepted = true
    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
      let r = queue.withLock { $0.enqueue(event, waiter: c) }
      accepted = r.accepted
      if !r.accepted { c.resume() }
      r.wake?.resume()
    }
    if !accepted { await writeAfterClose(event) }
  }

  /// Queues an event without waiting, unless ``maxQueued`` events are already
  /// waiting to be written: then it waits for its commit, so a writer that cannot
  /// keep up (a slow disk, 15k req/s against ~5k rows/s) slows the requests down
  /// instead of queueing without bound (it grew to 650 MB over a million requests).
  func enqueue(_ event: DecisionEvent) async {
    let backlog = queue.withLock { $0.enqueued &- $0.completed }
    if backlog >= UInt64(maxQueued) {
      await enqueueAndWait(event)
      return
    }
    let r = queue.withLock { $0.enqueue(event, waiter: nil) }
    r.wake?.resume()
    if !r.accepted { await writeAfterClose(event) }
  }

  /// Waits until everything queued so far is committed (or failed).
  func flush() async {
    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
      queue.withLock { $0.flush(c) }?.resume()
    }
  }

  /// Stops accepting events; the writer drains what is queued and exits.
  func shutdown() {
    queue.withLock { $0.close() }?.resume()
  }

  /// An event recorded after `close()`: written on its own rather than lost.
  private func writeAfterClose(_ event: DecisionEvent) async {
    logger.warning("audit event recorded after close; writing it directly", metadata: ["request.id": "\(event.requestID)"])
    await persist([PendingWrite(event: event, waiter: nil, sequence: 0)], encoder: DecisionRowWriter.makeEncoder())
  }

  // MARK: writer side

  /// The writer loop: one batch, one transaction, until closed and drained.
  ///
  /// Two stages overlap: while batch N is being written (on GRDB's writer queue),
  /// the loop takes and encodes batch N+1. Batches are written and completed in order.
  func run() async {
    let encoder = DecisionRowWriter.makeEncoder()
    var inflight: Task<Void, Never>?
    while true {
      let step = queue.withLock { $0.nextBatch(max: batchMax) }
      if case .batch(let batch) = step {
        let encoded = encode(batch, with: encoder)
        await inflight?.value
        inflight = Task {
          await self.write(encoded)
          let resume = self.queue.withLock { $0.complete(batch) }
          for c in resume { c.resume() }
        }
        continue
      }
      // Nothing queued: let the write in flight finish (more may arrive meanwhile), then decide.
      if let t = inflight {
        await t.value
        inflight = nil
        continue
      }
      if case .park = step {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
          queue.withLock { $0.park(c) }?.resume()
        }
        continue
      }
      let resume = queue.withLock { $0.writerDidFinish() }
      for c in resume { c.resume() }
      return
    }
  }

  /// Writes a batch (encode, then one transaction); never throws.
  func persist(_ batch: [PendingWrite], encoder: JSONEncoder) async {
    await write(encode(batch, with: encoder))
  }

  private func encode(_ batch: [PendingWrite], with encoder: JSONEncoder) -> [EncodedDecision] {
    var encoded: [EncodedDecision] = []
    encoded.reserveCapacity(batch.count)
    for p in batch {
      do {
        encoded.append(try DecisionRowWriter.encode(p.event, with: encoder))
      } catch {
        failedEvents.add(1, ordering: .relaxed)
        logger.error("audit event could not be encoded; dropped",
                     metadata: ["request.id": "\(p.event.requestID)", "error": "\(error)"])
      }
    }
    return encoded
  }

  /// Writes encoded events in one transaction. On failure, retries each event in its
  /// own transaction so one bad event cannot take the batch down; never throws.
  private func write(_ rows: [EncodedDecision]) async {
    guard !rows.isEmpty else { return }
    do {
      try await db.write { db in
        for d in rows { try DecisionRowWriter.insert(d, db) }
      }
      batches.add(1, ordering: .relaxed)
      committedEvents.add(UInt64(rows.count), ordering: .relaxed)
      return
    } catch {
      failedBatches.add(1, ordering: .relaxed)
      logger.error("audit batch write failed; retrying its events one by one",
                   metadata: ["audit.batch_size": .stringConvertible(rows.count), "error": "\(error)"])
    }
    var failed = 0
    var lastError: (any Error)?
    for d in rows {
      do {
        try await db.write { db in try DecisionRowWriter.insert(d, db) }
        committedEvents.add(1, ordering: .relaxed)
      } catch {
        failed += 1
        lastError = error
        logger.debug("audit event write failed", metadata: ["request.id": "\(d.event.requestID)", "error": "\(error)"])
      }
    }
    if failed > 0 {
      failedEvents.add(UInt64(failed), ordering: .relaxed)
      logger.error("audit events lost after retry",
                   metadata: ["audit.failed": .stringConvertible(failed), "audit.batch_size": .stringConvertible(rows.count),
                              "error": "\(lastError.map { "\($0)" } ?? "")"])
    }
  }
}
