import Foundation
import Logging
import SwitchboardCore
import SwitchboardState
import Testing

@Suite("SQLite budget ledger")
struct SQLiteBudgetLedgerTests {
  static let day0: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z
  static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
  static func path() -> String {
    let dir = NSTemporaryDirectory() + "sbl-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir + "/ledger.sqlite"
  }
  let scope = BudgetScope(key: "route:r", limit: BudgetLimit(softUSD: nil, hardUSD: 1))
  let monthly = BudgetScope(key: "tenant:acme", window: .monthly, limit: BudgetLimit(softUSD: nil, hardUSD: 2))

  @Test func settledSpendIsStoredAndReloadedExactly() async throws {
    let p = Self.path()
    do {
      let l = try SQLiteBudgetLedger(path: p, wallMillis: Self.day0, logger: Self.logger)
      for i in 0..<7 {
        guard case .reserved(let r, _) = await l.reserve(MicroUSD(100_000), scopes: [scope, monthly], requestID: "r\(i)", wallMillis: Self.day0) else {
          Issue.record(); return
        }
        _ = await l.settle(r, actual: MicroUSD(33_333), wallMillis: Self.day0)
      }
      #expect(try await l.storedSpend(scope: "route:r", window: .daily, period: "2026-01-01") == MicroUSD(233_331))
    }
    let reopened = try SQLiteBudgetLedger(path: p, wallMillis: Self.day0 + 1_000, logger: Self.logger)
    let snaps = await reopened.snapshot(scopes: [scope, monthly], wallMillis: Self.day0 + 1_000)
    #expect(snaps.map(\.spent) == [MicroUSD(233_331), MicroUSD(233_331)])
    // Next day: the daily account starts afresh, the monthly one carries on.
    let nextDay = try SQLiteBudgetLedger(path: p, wallMillis: Self.day0 + 86_400_000, logger: Self.logger)
    let n = await nextDay.snapshot(scopes: [scope, monthly], wallMillis: Self.day0 + 86_400_000)
    #expect(n.map(\.spent) == [.zero, MicroUSD(233_331)])
  }

  /// A reservation on uncapped accounts alone (the route's own) can be denied by
  /// nothing: it is not journaled (each write is a commit on the request's path), but
  /// what it spends is stored, and a capped one is journaled as before.
  @Test func onlyAReservationOnALimitedScopeIsJournaled() async throws {
    let p = Self.path()
    let uncapped = BudgetScope(key: "route:open", limit: BudgetLimit(softUSD: nil, hardUSD: nil))
    do {
      let l = try SQLiteBudgetLedger(path: p, wallMillis: Self.day0, logger: Self.logger)
      guard case .reserved(let free, _) = await l.reserve(MicroUSD(100_000), scopes: [uncapped], requestID: "free", wallMillis: Self.day0),
            case .reserved(let paid, _) = await l.reserve(MicroUSD(100_000), scopes: [scope, uncapped], requestID: "paid", wallMillis: Self.day0),
            case .reserved(let nothing, _) = await l.reserve(MicroUSD(100_000), scopes: [uncapped], requestID: "zero", wallMillis: Self.day0),
            case .reserved(let dropped, _) = await l.reserve(MicroUSD(1), scopes: [uncapped], requestID: "dropped", wallMillis: Self.day0)
      else { Issue.record(); return }
      #expect(try await l.storedReservationCount() == 1)
      _ = await l.settle(free, actual: MicroUSD(40_000), wallMillis: Self.day0)
      _ = await l.settle(nothing, actual: .zero, wallMillis: Self.day0)
      await l.release(dropped)
      #expect(try await l.storedSettlementCount() == 1)  // the spend of `free`; nothing for the others
      _ = await l.settle(paid, actual: MicroUSD(40_000), wallMillis: Self.day0)
      #expect(try await l.storedSettlementCount() == 2 && l.writeFailures == 0)
      #expect(try await l.storedReservationCount() == 0)
      #expect(try await l.storedSpend(scope: "route:r", window: .daily, period: "2026-01-01") == MicroUSD(40_000))
    }
    // The uncapped account's spend survives a restart like any other.
    let reopened = try SQLiteBudgetLedger(path: p, wallMillis: Self.day0 + 1_000, logger: Self.logger)
    #expect(await reopened.snapshot(scopes: [uncapped], wallMillis: Self.day0 + 1_000).first?.spent == MicroUSD(80_000))
  }

  @Test func reservationsOfADeadProcessAreReleasedOnOpen() async throws {
    let p = Self.path()
    do {
      let l = try SQLiteBudgetLedger(path: p, wallMillis: Self.day0, logger: Self.logger)
      for i in 0..<3 { _ = await l.reserve(MicroUSD(200_000), scopes: [scope], requestID: "dead\(i)", wallMillis: Self.day0) }
      #expect(try await l.storedReservationCount() == 3)
      guard case .denied = await l.reserve(MicroUSD(500_000), scopes: [scope], requestID: "x", wallMillis: Self.day0) else {
        Issue.record("open reservations must count"); return
      }
      // The process "dies" here: nothing is settled or released.
    }
    let l = try SQLiteBudgetLedger(path: p, wallMillis: Self.day0, logger: Self.logger)
    #expect(l.loadReport.releasedReservations == 3 && l.loadReport.releasedAmount == MicroUSD(600_000))
    #expect(try await l.storedReservationCount() == 0)
    let s = await l.snapshot(scopes: [scope], wallMillis: Self.day0)
    #expect(s.first?.reserved == .zero && s.first?.spent == .zero)
    guard case .reserved = await l.reserve(MicroUSD(900_000), scopes: [scope], requestID: "y", wallMillis: Self.day0) else {
      Issue.record("released room was not given back"); return
    }
  }

  @Test func aCancelledSettleStillCommits() async throws {
    let p = Self.path()
    let l = try SQLiteBudgetLedger(path: p, wallMillis: Self.day0, logger: Self.logger)
    guard case .reserved(let r, _) = await l.reserve(MicroUSD(10), scopes: [scope], requestID: "c", wallMillis: Self.day0) else { Issue.record(); return }
    let task = Task {
      withUnsafeCurrentTask { $0?.cancel() }
      return await l.settle(r, actual: MicroUSD(7), wallMillis: Self.day0)
    }
    _ = await task.value
    #expect(try await l.storedSpend(scope: "route:r", window: .daily, period: "2026-01-01") == MicroUSD(7))
  }

  @Test func anUnreadableStoreIsAnErrorNotAnEmptyLedger() throws {
    let p = Self.path()
    try (Data("garbage".utf8) + Data(repeating: 0x5A, count: 4096)).write(to: URL(fileURLWithPath: p))
    #expect(throws: LedgerStoreError.self) { _ = try SQLiteBudgetLedger(path: p, wallMillis: Self.day0, logger: Self.logger) }
    do { _ = try SQLiteBudgetLedger(path: p, wallMillis: Self.day0, logger: Self.logger) } catch {
      #expect("\(error)".hasPrefix("cannot open the budget ledger at \(p)"))
    }
  }
}

@Suite("Ledger group commit")
struct LedgerGroupCommitTests {
  @Test func concurrentSettlesAreAllCommittedExactly() async throws {
    let p = SQLiteBudgetLedgerTests.path()
    let scope = BudgetScope(key: "route:r", limit: BudgetLimit(softUSD: nil, hardUSD: 1_000))
    do {
      let ledger = try SQLiteBudgetLedger(path: p, wallMillis: SQLiteBudgetLedgerTests.day0, logger: SQLiteBudgetLedgerTests.logger)
      await withTaskGroup(of: Void.self) { group in
        for i in 0..<300 {
          group.addTask {
            guard case .reserved(let r, _) = await ledger.reserve(MicroUSD(10), scopes: [scope], requestID: "r\(i)",
                                                                  wallMillis: SQLiteBudgetLedgerTests.day0) else { return }
            _ = await ledger.settle(r, actual: MicroUSD(7), wallMillis: SQLiteBudgetLedgerTests.day0)
          }
        }
      }
      #expect(ledger.writeFailures == 0)
    }
    // What a restart loads is what was settled, to the micro-USD, with nothing left reserved.
    let reopened = try SQLiteBudgetLedger(path: p, wallMillis: SQLiteBudgetLedgerTests.day0, logger: SQLiteBudgetLedgerTests.logger)
    #expect(reopened.loadReport.releasedReservations == 0)
    let snap = await reopened.snapshot(scopes: [scope], wallMillis: SQLiteBudgetLedgerTests.day0)
    #expect(snap.first { $0.window == "daily" }?.spent == MicroUSD(2_100))
  }
}
