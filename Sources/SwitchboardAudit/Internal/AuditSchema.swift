import GRDB

/// The store's schema, as named migrations. Never edit a shipped migration: add one.
enum AuditSchema {
  static var migrator: DatabaseMigrator {
    var m = DatabaseMigrator()
    m.registerMigration("v1-decisions-ledger") { db in
      try db.execute(sql: """
        CREATE TABLE decision (
          request_id TEXT PRIMARY KEY NOT NULL,
          ts_ms INTEGER NOT NULL,
          tenant TEXT NOT NULL,
          route TEXT NOT NULL,
          strategy TEXT NOT NULL,
          outcome TEXT NOT NULL,
          status_code TEXT,
          reason TEXT,
          chosen_provider TEXT,
          chosen_model TEXT,
          baseline_provider TEXT,
          baseline_model TEXT,
          cost_usd REAL,
          baseline_cost_usd REAL,
          cost_delta_usd REAL,
          total_spend_usd REAL NOT NULL,
          latency_ms REAL NOT NULL,
          attempts INTEGER NOT NULL,
          event_json TEXT NOT NULL
        );
        CREATE INDEX decision_ts ON decision(ts_ms);
        CREATE INDEX decision_route_ts ON decision(route, ts_ms);
        CREATE INDEX decision_tenant_ts ON decision(tenant, ts_ms);
        CREATE INDEX decision_outcome_ts ON decision(outcome, ts_ms);
        CREATE INDEX decision_provider_ts ON decision(chosen_provider, ts_ms);

        CREATE TABLE decision_attempt (
          request_id TEXT NOT NULL REFERENCES decision(request_id) ON DELETE CASCADE,
          attempt_index INTEGER NOT NULL,
          provider TEXT NOT NULL,
          model TEXT NOT NULL,
          outcome TEXT NOT NULL,
          reason TEXT
        );
        CREATE INDEX decision_attempt_request ON decision_attempt(request_id);
        CREATE INDEX decision_attempt_provider ON decision_attempt(provider, request_id);

        CREATE TABLE ledger (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          ts_ms INTEGER NOT NULL,
          day INTEGER NOT NULL,
          scope TEXT NOT NULL,
          amount_usd REAL NOT NULL,
          request_id TEXT NOT NULL
        );
        CREATE INDEX ledger_day_scope ON ledger(day, scope);
        """)
    }
    // Request ids are issued by the daemon; the client's id is a correlation id.
    // Money in integer micro-USD. The old `ledger` table is no longer written: spend
    // lives in the ledger's own store (SwitchboardState).
    m.registerMigration("v2-correlation-micro-usd") { db in
      try db.execute(sql: """
        ALTER TABLE decision ADD COLUMN correlation_id TEXT;
        ALTER TABLE decision ADD COLUMN total_spend_micro_usd INTEGER;
        ALTER TABLE decision ADD COLUMN cost_micro_usd INTEGER;
        CREATE INDEX decision_correlation ON decision(correlation_id) WHERE correlation_id IS NOT NULL;
        """)
    }
    // Tags (bounded by RequestTags): one row per tag, for `decisions --tag K=V`.
    // Stored rows keep their JSON as written; rows before this migration have no tags.
    m.registerMigration("v3-decision-tags") { db in
      try db.execute(sql: """
        CREATE TABLE decision_tag (
          request_id TEXT NOT NULL REFERENCES decision(request_id) ON DELETE CASCADE,
          key TEXT NOT NULL,
          value TEXT NOT NULL,
          PRIMARY KEY (request_id, key)
        ) WITHOUT ROWID;
        CREATE INDEX decision_tag_kv ON decision_tag(key, value, request_id);
        """)
    }
    return m
  }
}
