import Logging
import SwitchboardCore
import SwitchboardTestKit
@testable import SwitchboardFleet

/// A throwaway server and ledgers on it, their pools running for the body's duration.
enum FleetTestSupport {
  static let day0: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z

  static func configuration(_ server: PostgresTestServer, leaseMs: Int64 = 30_000, timeoutMs: Int64 = 10_000,
                            onUnavailable: SharedStateConfiguration.OnUnavailable = .failClosed, share: Double = 0.1) -> SharedStateConfiguration {
    var c: SharedStateConfiguration
    switch PostgresConnectionSettings.parse(server.url) {
    case .success(var conn): conn.password = .init(server.password); c = SharedStateConfiguration(connection: conn)
    case .failure(let p): fatalError("test URL: \(p)")
    }
    c.poolSize = 4
    c.leaseMs = leaseMs
    c.timeoutMs = timeoutMs
    c.onUnavailable = onUnavailable
    c.localShare = share
    return c
  }

  /// (Calls time out after 10 s by default: 2 s timed out healthy queries in a full
  /// parallel run on two busy cores.)
  /// Runs `body` with `count` ledgers (sidecars `s0`, `s1`, …) on `server`, schema migrated.
  static func withLedgers<T: Sendable>(_ server: PostgresTestServer, count: Int, leaseMs: Int64 = 30_000, timeoutMs: Int64 = 10_000,
                                       _ body: @escaping @Sendable ([PostgresBudgetLedger]) async throws -> T) async throws -> T {
    let logger = Logger(label: "fleet-test", factory: { _ in SwiftLogNoOpLogHandler() })
    let ledgers = (0..<count).map { i in
      PostgresBudgetLedger(configuration: configuration(server, leaseMs: leaseMs, timeoutMs: timeoutMs), sidecarID: "s\(i)",
                           calendar: .utc, logger: logger)
    }
    return try await withThrowingTaskGroup(of: T?.self) { group in
      for l in ledgers { group.addTask { await l.client.run(); return nil } }
      group.addTask {
        for l in ledgers { try await migrate(l) }
        return try await body(ledgers)
      }
      var result: T?
      while let r = try await group.next() {
        if let r { result = r; break }
      }
      group.cancelAll()
      return result!
    }
  }

  /// Migrates, retrying a timed-out attempt twice: a fresh server on a loaded test
  /// machine can take longer than the call timeout to create the schema (each
  /// version commits on its own, under the advisory lock, so a retry is safe).
  static func migrate(_ l: PostgresBudgetLedger) async throws {
    for attempt in 1...3 {
      do { return try await l.migrate() } catch let e as FleetStoreError where e.code == .timeout && attempt < 3 { continue }
    }
  }

  static func scope(_ key: String, hard: Int64?, soft: Int64? = nil, window: BudgetWindow = .daily) -> BudgetScope {
    BudgetScope(key: key, window: window, limit: BudgetLimit(soft: soft.map(MicroUSD.init), hard: hard.map(MicroUSD.init)))
  }

  static func spent(_ snap: [BudgetSnapshot], _ scope: String, window: String = "daily") -> (spent: Int64, reserved: Int64) {
    let e = snap.first { $0.scope == scope && $0.window == window }
    return (e?.spent.value ?? 0, e?.reserved.value ?? 0)
  }
}
