import GRDB

/// The ledger store's schema, as named migrations. Never edit a shipped migration: add one.
enum LedgerSchema {
  static var migrator: DatabaseMigrator {
    var m = DatabaseMigrator()
    m.registerMigration("v1-accounts-reservations-settlements") { db in
      try db.execute(sql: """
        CREATE TABLE budget_account (
          scope TEXT NOT NULL,
          window TEXT NOT NULL,
          period TEXT NOT NULL,
          spent_micro_usd INTEGER NOT NULL,
          updated_ms INTEGER NOT NULL,
          PRIMARY KEY (scope, window, period)
        ) WITHOUT ROWID;

        CREATE TABLE budget_reservation (
          id INTEGER PRIMARY KEY NOT NULL,
          request_id TEXT NOT NULL,
          amount_micro_usd INTEGER NOT NULL,
          accounts TEXT NOT NULL,
          ts_ms INTEGER NOT NULL
        );

        CREATE TABLE budget_settlement (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          ts_ms INTEGER NOT NULL,
          request_id TEXT NOT NULL,
          reserved_micro_usd INTEGER NOT NULL,
          charged_micro_usd INTEGER NOT NULL,
          accounts TEXT NOT NULL
        );
        CREATE INDEX budget_settlement_ts ON budget_settlement(ts_ms);

        CREATE TABLE budget_release (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          ts_ms INTEGER NOT NULL,
          request_id TEXT NOT NULL,
          amount_micro_usd INTEGER NOT NULL,
          why TEXT NOT NULL
        );
        """)
    }
    return m
  }
}
