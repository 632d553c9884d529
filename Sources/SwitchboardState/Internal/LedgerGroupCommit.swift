import GRDB
import Synchronization

/// Group commit for the ledger's writes: everything submitted while one
/// transaction commits goes into the next one, so N concurrent reserves and
/// settles cost one commit (one fsync under `synchronous = FULL`) instead of N.
/// Each caller still returns only once its own write is committed.
///
/// The writer is an unstructured task, so a caller's cancellation never
/// interrupts a write (the money was spent). A write that throws is retried
/// alone, so it cannot fail the others of its batch.
final class LedgerGroupCommit: Sendable {
  typealias Body = @Sendable (Database) throws -> Void

  private struct Item: Sendable {
    let body: Body
    let done: CheckedContinuation<(any Error)?, Never>
  }

  private struct State: Sendable {
    var items: [Item] = []
    var writing = false
  }

  private let state = Mutex(State())
  private let db: any DatabaseWriter

  init(db: any DatabaseWriter) { self.db = db }

  /// Runs `body` in the next group transaction; returns its error, if any.
  func submit(_ body: @escaping Body) async -> (any Error)? {
    await withCheckedContinuation { (done: CheckedContinuation<(any Error)?, Never>) in
      let startWriter = state.withLock { s -> Bool in
        s.items.append(Item(body: body, done: done))
        if s.writing { return false }
        s.writing = true
        return true
      }
      if startWriter { Task { await self.drain() } }
    }
  }

  /// Commits batches until nothing is pending.
  private func drain() async {
    while true {
      let batch = state.withLock { s -> [Item] in
        let b = s.items
        s.items = []
        if b.isEmpty { s.writing = false }
        return b
      }
      if batch.isEmpty { return }
      let bodies = batch.map(\.body)
      do {
        try await db.write { db in for body in bodies { try body(db) } }
        for item in batch { item.done.resume(returning: nil) }
      } catch {
        for item in batch {
          do { try await db.write(item.body); item.done.resume(returning: nil) } catch { item.done.resume(returning: error) }
        }
      }
    }
  }
}
