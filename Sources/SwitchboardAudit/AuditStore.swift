import Foundation
import GRDB
import Logging
import SwitchboardCore

/// The decision store and spend ledger: SQLite (GRDB) on a file, or a bounded ring in memory.
///
/// A file path opens a WAL `DatabasePool` (readers never block the writer). `record` is
/// group-committed: events queue up and a single writer task writes up to
/// ``AuditStoreConfiguration/batchMax`` of them per transaction, so no request pays for
/// its own transaction.
///
/// An empty path keeps the most recent decisions in memory, in a ring bounded by
/// ``AuditStoreConfiguration/memoryBudgetBytes``: once full, each new decision evicts the
/// oldest, so memory stays flat however long the daemon runs (evictions are counted in
/// ``statistics``). Queries answer from the ring; nothing survives the process.
///
/// Durability: with `durableResponses` (the default) `record` returns only after the
/// transaction holding the event committed, so every response the daemon sends has its
/// decision row on disk. With `durableResponses: false` it returns once queued — lower
/// latency, but a crash loses what was queued or being written. A failed write is
/// logged, counted in ``statistics`` and still releases its waiters: the audit trail
/// never hangs a request.
///
/// Shutdown: call ``close()`` (it flushes) before the process exits.
public final class AuditStore: AuditSink {
  private let writer: AuditWriter
  private let writerTask: Task<Void, Never>
  /// The configuration the store was opened with.
  public let configuration: AuditStoreConfiguration
  let db: any DatabaseWriter
  let logger: Logger
  /// The in-memory store (empty path); nil for a file.
  let ring: AuditMemoryRing.Locked?

  /// Opens (creating and migrating if needed) the store described by `configuration`.
  /// - Throws: a GRDB `DatabaseError` when the file cannot be opened or migrated.
  public init(configuration: AuditStoreConfiguration = .init(), logger: Logger) throws {
    self.configuration = configuration
    self.logger = logger
    var config = Configuration()
    config.label = "switchboard.audit"
    config.busyMode = .timeout(configuration.busyTimeoutSeconds)
    let db: any DatabaseWriter
    if configuration.path.isEmpty {
      // The ring holds the decisions; the (empty) queue only backs `executeOnWriterForTesting`.
      db = try DatabaseQueue(configuration: config)
      ring = AuditMemoryRing.Locked(AuditMemoryRing(budgetBytes: configuration.memoryBudgetBytes))
    } else {
      ring = nil
      let pool = try DatabasePool(path: configuration.path, configuration: config)
      // GRDB sets NORMAL for WAL; FULL also survives a power loss (one fsync per batch).
      try pool.writeWithoutTransaction { db in
        try db.execute(sql: "PRAGMA synchronous = \(configuration.synchronous == .full ? "FULL" : "NORMAL")")
      }
      db = pool
    }
    try AuditSchema.migrator.migrate(db)
    self.db = db
    let writer = AuditWriter(db: db, logger: logger, batchMax: configuration.batchMax,
                             maxQueued: configuration.maxQueuedEvents)
    self.writer = writer
    self.writerTask = Task { await writer.run() }
  }

  /// Opens the store at `path` (empty: in memory).
  public convenience init(path: String, durableResponses: Bool = true, batchMax: Int = 256, logger: Logger) throws {
    try self.init(configuration: .init(path: path, durableResponses: durableResponses, batchMax: batchMax), logger: logger)
  }

  deinit {
    writer.shutdown()
  }

  /// Queues the event; in durable mode, returns once its batch is committed (or its write failed).
  public func record(_ event: DecisionEvent) async {
    if let ring {
      // The ring keeps the event itself; its JSON is written when a query reads it.
      let stored = AuditMemoryRing.Stored(event)
      let bytes = AuditMemoryRing.accountedBytes(event)
      ring.state.withLock { $0.record(stored, bytes: bytes) }
      return
    }
    if configuration.durableResponses {
      await writer.enqueueAndWait(event)
    } else {
      await writer.enqueue(event)
    }
  }

  /// Waits until every event recorded before this call is committed (or failed).
  public func flush() async {
    await writer.flush()
  }

  /// Flushes and stops the writer (SIGTERM drain). Reads keep working; an event
  /// recorded afterwards is written on its own transaction rather than lost.
  public func close() async {
    writer.shutdown()
    await writerTask.value
  }

  /// Counters of the writer since the store opened.
  public var statistics: AuditStoreStatistics {
    if let ring {
      let (recorded, evicted, refused) = ring.state.withLock { ($0.recorded, $0.evicted, $0.refused) }
      return AuditStoreStatistics(enqueued: recorded + refused, completed: recorded + refused, committedEvents: recorded,
                                  failedEvents: refused,
                                  batches: 0, failedBatches: 0, evictedEvents: evicted)
    }
    let q = writer.queue.withLock { ($0.enqueued, $0.completed) }
    return AuditStoreStatistics(
      enqueued: q.0, completed: q.1,
      committedEvents: writer.committedEvents.load(ordering: .relaxed),
      failedEvents: writer.failedEvents.load(ordering: .relaxed),
      batches: writer.batches.load(ordering: .relaxed),
      failedBatches: writer.failedBatches.load(ordering: .relaxed), evictedEvents: 0)
  }

  /// The UTC day (days since the epoch) a wall time falls in; the budget ledger's rule.
  public static func day(ofWallMillis wallMillis: Int64) -> Int64 { DecisionRowWriter.day(of: wallMillis) }
}

/// What the writer has done since the store opened.
public struct AuditStoreStatistics: Sendable, Hashable {
  /// Events accepted by `record` into the queue.
  public var enqueued: UInt64
  /// Queued events whose batch is done (committed or failed).
  public var completed: UInt64
  /// Events committed.
  public var committedEvents: UInt64
  /// Events lost to a write or encoding error (logged).
  public var failedEvents: UInt64
  /// Transactions committed by the writer.
  public var batches: UInt64
  /// Batch transactions that failed (their events were retried one by one).
  public var failedBatches: UInt64
  /// In-memory store: decisions evicted (oldest first) to stay within the memory budget.
  public var evictedEvents: UInt64 = 0
}

extension AuditStore {
  /// In-memory store: accounted bytes held and live decisions; nil for a file store.
  public var memoryUsage: (bytes: Int, decisions: Int)? {
    ring?.state.withLock { ($0.usedBytes, $0.count) }
  }
}

extension AuditStore {
  /// Runs raw SQL on the writer connection. For tests (fault injection) only.
  func executeOnWriterForTesting(sql: String) async throws {
    try await db.writeWithoutTransaction { db in try db.execute(sql: sql) }
  }
}
