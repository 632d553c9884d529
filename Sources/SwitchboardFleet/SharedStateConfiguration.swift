/// `shared_state:` — the fleet's PostgreSQL: one budget, shared by every sidecar
/// that names the same database. Absent: everything stays local (SQLite).
public struct SharedStateConfiguration: Sendable, Hashable {
  /// What a sidecar does while the database cannot be reached.
  public enum OnUnavailable: String, Sendable, Hashable, CaseIterable {
    /// Refuse requests that need a reservation, reason `shared_state_unavailable` (default).
    case failClosed = "fail_closed"
    /// Spend from a local ledger bounded by ``SharedStateConfiguration/localShare`` of each cap; reconcile later.
    case local
  }

  /// The server, user and database (from `postgres.url`); never logged.
  public var connection: PostgresConnectionSettings
  /// `postgres.pool_size`: connections per sidecar. Default 4.
  public var poolSize = 4
  /// `postgres.lease_ms`: how long a reservation outlives a silent sidecar before
  /// any sidecar releases it. Renewed every third of it while the owner lives. Default 30000.
  public var leaseMs: Int64 = 30_000
  /// `postgres.timeout_ms`: bound of every database call (connect, statement, lock wait). Default 2000.
  public var timeoutMs: Int64 = 2_000
  /// `on_unavailable`. Default `fail_closed`.
  public var onUnavailable: OnUnavailable = .failClosed
  /// `local_share`: the fraction (0 < x ≤ 1) of each hard and soft cap this sidecar
  /// may spend on its own while the database is unreachable, per budget period. Default 0.1.
  public var localShare = 0.1
  /// `sidecar_id`: this sidecar's name on its leases. Default: host name, pid and a random suffix.
  public var sidecarID: String?
  /// `postgres.synchronous_commit`: false sets the server's `synchronous_commit = off`
  /// for the ledger's sessions — a reservation's row locks are then released without
  /// waiting for the WAL flush (much less contention on a cap every request shares),
  /// at the price of losing the last fraction of a second of ledger writes if the
  /// database server itself crashes (never on a sidecar crash). Default true.
  public var synchronousCommit = true
  /// `postgres.maintenance_ms`: how often expired leases are reaped, leases renewed,
  /// the database probed while down and the budget view refreshed. Default 1000.
  public var maintenanceMs: Int64 = 1_000

  /// `health`: share circuit state (openings, cooldowns, Retry-After, the one
  /// half-open probe) across the fleet through the same database. Default true.
  public var shareHealth = true

  /// Creates a configuration for `connection`, every other field at its default.
  public init(connection: PostgresConnectionSettings) { self.connection = connection }
}
