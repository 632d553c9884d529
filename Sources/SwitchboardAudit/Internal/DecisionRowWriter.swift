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
  /// Foundation's encoder for the stored shape (``DecisionJSON/makeEncoder()``).
  static func makeEncoder() -> JSONEncoder { DecisionJSON.makeEncoder() }

  /// The decoder for stored rows, old camelCase ones included.
  static func makeDecoder() -> JSONDecoder { DecisionJSON.makeDecoder() }

  static func encode(_ event: DecisionEvent, with encoder: JSONEncoder) throws -> EncodedDecision {
    EncodedDecision(event: event, json: DecisionEventJSON.encode(event))
  }

  /// UTC day (days since the epoch) of a wall time; the same rule as `InMemoryBudgetLedger`.
  static func day(of wallMillis: Int64) -> Int64 { wallMillis >= 0 ? wallMillis / 86_400_000 : -1 }

  /// Writes one decision and its attempt rows. Call inside a transaction.
  ///
  /// The request id is the daemon's own (never a client's), so a second row with the
  /// same id is an error and never replaces the first: no caller can overwrite
  /// another's decision. The client's id is stored as `correlation_id`.
  static func insert(_ d: EncodedDecision, _ db: Database) throws {
    let e = d.event
    let made = e.attempts.lazy.filter { $0.outcome != .skipped }.count
    let arguments: StatementArguments = [
      e.requestID, e.timestampMs, e.tenant, e.route, e.strategy, e.outcome.rawValue, e.statusCode?.rawValue,
      e.reason?.rawValue, e.chosenProvider, e.chosenModel, e.baselineProvider, e.baselineModel, e.costUSD,
      e.baselineCostUSD, e.costDeltaUSD, e.totalSpendUSD, e.totalLatencyMs, made, d.json,
      e.correlationID, e.totalSpendMicroUSD, e.costMicroUSD,
    ]
    let insert = try db.cachedStatement(sql: """
      INSERT INTO decision (request_id, ts_ms, tenant, route, strategy, outcome, status_code, reason,
        chosen_provider, chosen_model, baseline_provider, baseline_model, cost_usd, baseline_cost_usd, cost_delta_usd,
        total_spend_usd, latency_ms, attempts, event_json, correlation_id, total_spend_micro_usd, cost_micro_usd)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      """)
    try insert.execute(arguments: arguments)
    if !e.attempts.isEmpty {
      let stmt = try db.cachedStatement(sql: """
        INSERT INTO decision_attempt (request_id, attempt_index, provider, model, outcome, reason) VALUES (?, ?, ?, ?, ?, ?)
        """)
      for (i, a) in e.attempts.enumerated() {
        try stmt.execute(arguments: [e.requestID, i, a.provider, a.model, a.outcome.rawValue, a.reason?.rawValue])
      }
    }
    if let tags = e.tags, !tags.isEmpty {
      let stmt = try db.cachedStatement(sql: "INSERT INTO decision_tag (request_id, key, value) VALUES (?, ?, ?)")
      for (k, v) in tags { try stmt.execute(arguments: [e.requestID, k, v]) }
    }
  }
}
