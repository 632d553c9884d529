import Foundation
import GRDB
import SwitchboardCore

extension AuditStore {
  /// The decision of one request, for `switchboard explain`.
  public func event(requestID: String) async throws -> DecisionEvent? {
    if let ring {
      guard let stored = ring.state.withLock({ $0.event(requestID: requestID) }) else { return nil }
      // Through its JSON, as a file store answers: the same event either way.
      return try DecisionRowWriter.makeDecoder().decode(DecisionEvent.self, from: Data(DecisionEventJSON.encode(stored).utf8))
    }
    let json = try await db.read { db in
      try String.fetchOne(db, sql: "SELECT event_json FROM decision WHERE request_id = ?", arguments: [requestID])
    }
    guard let json else { return nil }
    return try DecisionRowWriter.makeDecoder().decode(DecisionEvent.self, from: Data(json.utf8))
  }

  /// The stored JSON rows matching `filter`, from the ring or the database.
  private func storedJSON(_ filter: DecisionFilter) async throws -> [String] {
    let rows: [String]
    if let ring {
      // Encoded here, outside the ring's lock: the ring keeps events, not their JSON.
      rows = ring.state.withLock { $0.events(matching: filter) }.map(DecisionEventJSON.encode)
    } else {
      let (sql, arguments) = Self.selectJSON(filter)
      rows = try await db.read { db in try String.fetchAll(db, sql: sql, arguments: arguments) }
    }
    return rows
  }

  /// Decisions matching `filter`, newest first unless the filter says otherwise.
  public func events(filter: DecisionFilter = .init()) async throws -> [DecisionEvent] {
    let rows = try await storedJSON(filter)
    let decoder = DecisionRowWriter.makeDecoder()
    return try rows.map { try decoder.decode(DecisionEvent.self, from: Data($0.utf8)) }
  }

  /// The decisions matching `filter` in their JSON shape (``DecisionJSON``), in the
  /// filter's order: the stored JSON, older camelCase rows rewritten.
  public func eventsJSON(filter: DecisionFilter = .init()) async throws -> [(event: DecisionEvent, json: String)] {
    let rows = try await storedJSON(filter)
    let decoder = DecisionRowWriter.makeDecoder()
    return try rows.map { row in
      let event = try decoder.decode(DecisionEvent.self, from: Data(row.utf8))
      return (event, DecisionJSON.isCurrentShape(row) ? row : DecisionJSON.encode(event))
    }
  }

  /// How many decisions the store holds.
  public func count() async throws -> Int {
    if let ring { return ring.state.withLock { $0.count } }
    return try await db.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM decision") ?? 0 }
  }

  /// Writes the matching events to `handle` as JSON Lines, one event per line in
  /// the decision's JSON shape (``DecisionJSON``; the stored JSON verbatim, older
  /// camelCase rows rewritten). Streams through a cursor; returns how many lines it wrote.
  @discardableResult
  public func exportJSONLines(filter: DecisionFilter = .init(limit: nil, order: .oldestFirst),
                              to handle: FileHandle) async throws -> Int {
    if let ring {
      let rows = ring.state.withLock { $0.events(matching: filter) }
      var buffer = Data()
      buffer.reserveCapacity(1 << 16)
      for event in rows {
        buffer.append(contentsOf: DecisionEventJSON.encode(event).utf8)  // the current shape
        buffer.append(0x0A)
        if buffer.count >= 1 << 16 {
          try handle.write(contentsOf: buffer)
          buffer.removeAll(keepingCapacity: true)
        }
      }
      if !buffer.isEmpty { try handle.write(contentsOf: buffer) }
      return rows.count
    }
    let (sql, arguments) = Self.selectJSON(filter)
    return try await db.read { db in
      var buffer = Data()
      buffer.reserveCapacity(1 << 16)
      var n = 0
      let cursor = try String.fetchCursor(db, sql: sql, arguments: arguments)
      while let stored = try cursor.next() {
        // Rows from before the snake_case shape are rewritten into it.
        let json = (try? DecisionJSON.canonical(stored)) ?? stored
        buffer.append(contentsOf: json.utf8)
        buffer.append(0x0A)
        n += 1
        if buffer.count >= 1 << 16 {
          try handle.write(contentsOf: buffer)
          buffer.removeAll(keepingCapacity: true)
        }
      }
      if !buffer.isEmpty { try handle.write(contentsOf: buffer) }
      return n
    }
  }

  static func selectJSON(_ f: DecisionFilter) -> (String, StatementArguments) {
    var clauses: [String] = []
    var args = StatementArguments()
    if let v = f.sinceMs { clauses.append("ts_ms >= ?"); args += [v] }
    if let v = f.untilMs { clauses.append("ts_ms < ?"); args += [v] }
    if let v = f.route { clauses.append("route = ?"); args += [v] }
    if let v = f.tenant { clauses.append("tenant = ?"); args += [v] }
    if let v = f.outcome { clauses.append("outcome = ?"); args += [v.rawValue] }
    if let v = f.correlationID { clauses.append("correlation_id = ?"); args += [v] }
    if let v = f.provider {
      clauses.append("(chosen_provider = ? OR request_id IN (SELECT request_id FROM decision_attempt WHERE provider = ?))")
      args += [v, v]
    }
    for (k, v) in f.tags.sorted(by: { $0.key < $1.key }) {
      clauses.append("request_id IN (SELECT request_id FROM decision_tag WHERE key = ? AND value = ?)")
      args += [k, v]
    }
    var sql = "SELECT event_json FROM decision"
    if !clauses.isEmpty { sql += " WHERE " + clauses.joined(separator: " AND ") }
    sql += f.order == .newestFirst ? " ORDER BY ts_ms DESC, rowid DESC" : " ORDER BY ts_ms ASC, rowid ASC"
    if let limit = f.limit { sql += " LIMIT ?"; args += [max(0, limit)] }
    return (sql, args)
  }
}
