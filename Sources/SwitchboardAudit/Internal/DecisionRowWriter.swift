import Foundation
import GRDB
import SwitchboardCore

/// An event with its JSON, encoded before the transaction starts.
struct EncodedDecision: Sendable {
  var event: DecisionEvent
  var json: String
}

/// Encodes events and writes their rows. Used from one writer at a time.
enum DecisionRowWriter {
  /// The encoder settings every stored event uses.
  static func makeEncoder() -> JSONEncoder {
    let e = JSONEncoder()
    e.outputFormatting = [.withoutEscapingSlashes]
    e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return e
  }

  /// The decoder matching ``makeEncoder()``.
  static func makeDecoder() -> JSONDecoder {
    let d = JSONDecoder()
    d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return d
  }

  static func encode(_ event: DecisionEvent, with encoder: JSONEncoder) throws -> EncodedDecision {
    EncodedDecision(event: event, json: DecisionEventJSON.encode(event))
  }

  /// UTC day (days since the epoch) of a wall time; the same rule as `InMemoryBudgetLedger`.
  static func day(of wallMillis: Int64) -> Int64 { wallMillis >= 0 ? wallMillis / 86_400_000 : -1 }

  /// Writes one decision, its attempt rows and its ledger rows. Call inside a transaction.
  ///
  /// A request id seen before replaces the earlier decision (and its attempt rows);
  /// ledger rows are only ever added, because both requests really spent.
  static func insert(_ d: EncodedDecision, _ db: Database) throws {
    let e = d.event
    let made = e.attempts.lazy.filter { $0.outcome != .skipped }.count
    let arguments: StatementArguments = [
      e.requestID, e.timestampMs, e.tenant, e.route, e.strategy, e.outcome.rawValue, e.statusCode?.rawValue,
      e.reason?.rawValue, e.chosenProvider, e.chosenModel, e.baselineProvider, e.baselineModel, e.costUSD,
      e.baselineCostUSD, e.costDeltaUSD, e.totalSpendUSD, e.totalLatencyMs, made, d.json,
    ]
    let insert = try db.cachedStatement(sql: """
      INSERT INTO decision (request_id, ts_ms, tenant, route, strategy, outcome, status_code, reason,
        chosen_provider, chosen_model, baseline_provider, baseline_model, cost_usd, baseline_cost_usd, cost_delta_usd,
        total_spend_usd, latency_ms, attempts, event_json)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      """)
    do {
      try insert.execute(arguments: arguments)
    } catch let error as DatabaseError where error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY {
      // Rare: a client reused a request id. Only the failed statement was rolled back.
      try db.execute(sql: "DELETE FROM decision_attempt WHERE request_id = ?", arguments: [e.requestID])
      try db.execute(sql: "DELETE FROM decision WHERE request_id = ?", arguments: [e.requestID])
      try db.execute(sql: insert.sql, arguments: arguments)
    }
    if !e.attempts.isEmpty {
      let stmt = try db.cachedStatement(sql: """
        INSERT INTO decision_attempt (request_id, attempt_index, provider, model, outcome, reason) VALUES (?, ?, ?, ?, ?, ?)
        """)
      for (i, a) in e.attempts.enumerated() {
        try stmt.execute(arguments: [e.requestID, i, a.provider, a.model, a.outcome.rawValue, a.reason?.rawValue])
      }
    }
    if e.totalSpendUSD > 0, e.totalSpendUSD.isFinite {
      let stmt = try db.cachedStatement(sql: """
        INSERT INTO ledger (ts_ms, day, scope, amount_usd, request_id) VALUES (?, ?, ?, ?, ?)
        """)
      let day = day(of: e.timestampMs)
      for scope in Set(e.budgetScopes).sorted() {
        try stmt.execute(arguments: [e.timestampMs, day, scope, e.totalSpendUSD, e.requestID])
      }
    }
  }
}
