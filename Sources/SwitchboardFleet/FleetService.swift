import Logging
import ServiceLifecycle
import SwitchboardCore

/// The fleet's long-running part: runs the PostgreSQL connection pool and, every
/// `maintenance_ms`, one ``FleetBudgetLedger/maintain(nowMillis:)`` pass (renew this
/// sidecar's leases, reap expired ones of any sidecar, probe and reconcile after an
/// outage, refresh the budget view) and, with shared health, the circuits' refresh
/// and the writer of their changes. Ends when cancelled — not on graceful shutdown:
/// the daemon cancels it after the socket server has drained and a last
/// ``FleetBudgetLedger/flush()``, so the settles of drained calls reach the database.
public struct FleetService: Service {
  /// The ledger it maintains.
  public let ledger: FleetBudgetLedger
  /// Time between maintenance passes.
  public let interval: Duration
  /// The shared circuits it refreshes and writes (nil: health stays local).
  public let health: PostgresHealthStore?
  let wallClock: @Sendable () -> Int64

  /// Creates the service.
  public init(ledger: FleetBudgetLedger, interval: Duration, health: PostgresHealthStore? = nil,
              wallClock: @escaping @Sendable () -> Int64 = { SystemClock().wallMillis() }) {
    self.ledger = ledger
    self.health = health
    self.interval = interval
    self.wallClock = wallClock
  }

  public func run() async {
    let ledger = self.ledger, interval = self.interval, wall = self.wallClock, health = self.health
    await withTaskGroup(of: Void.self) { group in
      group.addTask { await ledger.shared.client.run() }
      group.addTask {
        while !Task.isCancelled {
          do { try await Task.sleep(for: interval) } catch { break }
          await ledger.maintain(nowMillis: wall())
        }
      }
      if let health {
        group.addTask { await health.drain() }
        // The shared circuits' refresh: their staleness is bounded by one interval.
        group.addTask {
          while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { break }
            await health.refresh()
          }
        }
      }
      // Whichever ends first (the loop on shutdown or cancellation) closes the pool too.
      await group.next()
      group.cancelAll()
      health?.finish()
    }
  }
}
