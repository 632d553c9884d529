import ArgumentParser
import Foundation
import Logging
import SwitchboardCore
import SwitchboardFleet
import SwitchboardState

extension Bench {
  /// `switchboard bench --ledger-url postgresql://…`: the latency the budget ledger
  /// adds to one request (one reserve + one settle, as an attempt does), measured
  /// on the local ledgers (in memory; SQLite on a temp file, fsync per commit) and
  /// on the shared PostgreSQL ledger, at 1 and at `concurrency` requests in flight.
  /// The password comes from `--ledger-password-env` (never a flag value).
  func runLedger(url: String) async throws {
    var conn: PostgresConnectionSettings
    switch PostgresConnectionSettings.parse(url) {
    case .success(let c): conn = c
    case .failure(let p): throw ValidationError("--ledger-url \(p)")
    }
    if let env = ledgerPasswordEnv {
      guard let pw = ProcessInfo.processInfo.environment[env], !pw.isEmpty else { throw ValidationError("--ledger-password-env names an unset variable") }
      conn.password = .init(pw)
    }
    var cfg = SharedStateConfiguration(connection: conn)
    cfg.poolSize = max(1, min(64, concurrency))
    cfg.timeoutMs = 5_000
    cfg.synchronousCommit = !ledgerAsyncCommit
    let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
    let pg = PostgresBudgetLedger(configuration: cfg, sidecarID: "bench-\(getpid())", calendar: .utc, logger: logger)
    let fleet = FleetBudgetLedger(shared: pg, onUnavailable: .failClosed, localShare: 0.1, logger: logger)
    let sqlitePath = NSTemporaryDirectory() + "switchboard-bench-ledger-\(getpid()).sqlite"
    defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: sqlitePath + s) } }
    let now = SystemClock().wallMillis()
    let sqlite = try SQLiteBudgetLedger(path: sqlitePath, wallMillis: now, logger: logger)
    let memory = InMemoryBudgetLedger()
    let n = max(100, min(requests, 20_000))
    let benchID = "\(getpid())"
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { await pg.client.run() }
      guard await fleet.start(nowMillis: now) else { throw ValidationError("cannot reach the PostgreSQL server at --ledger-url") }
      for c in [1, max(1, concurrency)] {
        for (name, ledger) in [("memory", memory as any BudgetLedger), ("sqlite", sqlite), ("postgres", fleet)] {
          let scopes = [BudgetScope(key: "tenant:bench-\(benchID)-\(c)", limit: BudgetLimit(hard: MicroUSD(.max / 4))),
                        BudgetScope(key: "route:bench-\(benchID)", limit: BudgetLimit(hard: MicroUSD(.max / 4))),
                        BudgetScope(key: "daemon-bench-\(benchID)", window: .monthly, limit: BudgetLimit(hard: MicroUSD(.max / 4)))]
          let samples = await Self.ledgerSamples(ledger, scopes: scopes, count: n, concurrency: c)
          func pct(_ p: Double) -> Double { samples[min(samples.count - 1, Int(Double(samples.count) * p))] }
          let label = name == "postgres" && ledgerAsyncCommit ? "postgres_async_commit" : name
          print(String(format: "ledger=%@ in_flight=%d requests=%d reserve_settle_p50_ms=%.3f p99_ms=%.3f max_ms=%.3f",
                       label, c, samples.count, pct(0.5), pct(0.99), samples.last ?? 0))
        }
      }
      group.cancelAll()
    }
  }

  /// Per-request reserve + settle latencies in milliseconds, sorted.
  static func ledgerSamples(_ ledger: any BudgetLedger, scopes: [BudgetScope], count: Int, concurrency: Int) async -> [Double] {
    let per = max(1, count / concurrency)
    let all = await withTaskGroup(of: [Double].self) { group in
      for w in 0..<concurrency {
        group.addTask {
          var out: [Double] = []
          out.reserveCapacity(per)
          for i in 0..<per {
            let t0 = ContinuousClock.now
            let wall = SystemClock().wallMillis()
            if case .reserved(let r, _) = await ledger.reserve(MicroUSD(100), scopes: scopes, requestID: "b\(w)-\(i)", wallMillis: wall) {
              _ = await ledger.settle(r, actual: MicroUSD(60), wallMillis: wall)
            }
            out.append((ContinuousClock.now - t0).milliseconds)
          }
          return out
        }
      }
      var all: [Double] = []
      for await part in group { all += part }
      return all
    }
    return all.sorted()
  }
}
