import GRDB

/// What one ``AuditStore/prune(now:maxAgeDays:maxRows:)`` removed.
public struct PruneResult: Sendable, Hashable {
  /// Decisions older than the age limit (their attempt rows went with them).
  public var decisionsByAge: Int
  /// The oldest decisions beyond the row limit.
  public var decisionsByCount: Int
  /// Ledger rows older than the age limit (never those of the current UTC day).
  public var ledgerRows: Int
}

extension AuditStore {
  /// Rows deleted per transaction, so a large prune never holds the writer for long.
  static let pruneChunk = 5_000

  /// Retention: deletes decisions older than `maxAgeDays` days before `now`, then the
  /// oldest ones beyond `maxRows`, and ledger rows older than `maxAgeDays` except
  /// those of the current UTC day (the spend a restart reloads). `nil` disables a limit.
  /// Run it at start and periodically; it deletes in small transactions.
  @discardableResult
  public func prune(now wallMillis: Int64, maxAgeDays: Int?, maxRows: Int?) async throws -> PruneResult {
    var result = PruneResult(decisionsByAge: 0, decisionsByCount: 0, ledgerRows: 0)
    if let ring {
      result = ring.state.withLock { $0.prune(now: wallMillis, maxAgeDays: maxAgeDays, maxRows: maxRows) }
      logPrune(result)
      return result
    }
    let chunk = Self.pruneChunk
    if let maxAgeDays {
      let cutoff = wallMillis - Int64(max(0, maxAgeDays)) * 86_400_000
      let today = Self.day(ofWallMillis: wallMillis)
      while true {
        let n = try await db.write { db in
          try db.execute(sql: """
            DELETE FROM decision WHERE rowid IN (SELECT rowid FROM decision WHERE ts_ms < ? LIMIT ?)
            """, arguments: [cutoff, chunk])
          return db.changesCount
        }
        result.decisionsByAge += n
        if n < chunk { break }
      }
      while true {
        let n = try await db.write { db in
          try db.execute(sql: """
            DELETE FROM ledger WHERE id IN (SELECT id FROM ledger WHERE ts_ms < ? AND day < ? LIMIT ?)
            """, arguments: [cutoff, today, chunk])
          return db.changesCount
        }
        result.ledgerRows += n
        if n < chunk { break }
      }
    }
    if let maxRows {
      let total = try await count()
      var excess = total - max(0, maxRows)
      while excess > 0 {
        let take = min(excess, chunk)
        let n = try await db.write { db in
          try db.execute(sql: """
            DELETE FROM decision WHERE rowid IN (SELECT rowid FROM decision ORDER BY ts_ms ASC, rowid ASC LIMIT ?)
            """, arguments: [take])
          return db.changesCount
        }
        result.decisionsByCount += n
        excess -= take
        if n < take { break }
      }
    }
    logPrune(result)
    return result
  }

  private func logPrune(_ result: PruneResult) {
    if result.decisionsByAge + result.decisionsByCount + result.ledgerRows > 0 {
      logger.info("audit retention pruned rows", metadata: [
        "audit.pruned_by_age": .stringConvertible(result.decisionsByAge), "audit.pruned_by_count": .stringConvertible(result.decisionsByCount),
        "audit.pruned_ledger": .stringConvertible(result.ledgerRows),
      ])
    }
  }
}
