import Testing
@testable import SwitchboardProviders

/// The per-host pool's transitions, without I/O.
@Suite("Lean HTTP pool state")
struct LeanHTTPPoolStateTests {
  final class Conn {}
  typealias Pool = LeanHTTPPoolState<Conn, String>

  static func isConnect(_ a: Pool.AcquireAction) -> Bool { if case .connect = a { true } else { false } }
  static func isWait(_ a: Pool.AcquireAction) -> Bool { if case .wait = a { true } else { false } }

  @Test func opensUpToTheLimitThenQueues() {
    var pool = Pool(limit: 2)
    #expect(Self.isConnect(pool.acquire(id: 1, "a") { _ in true }))
    #expect(Self.isConnect(pool.acquire(id: 2, "b") { _ in true }))
    #expect(Self.isWait(pool.acquire(id: 3, "c") { _ in true }))
    #expect(pool.open == 2)
    #expect(pool.waiting == 1)
  }

  @Test func aReleasedConnectionGoesToTheFirstWaiterElseIdle() {
    var pool = Pool(limit: 1)
    let c = Conn()
    _ = pool.acquire(id: 1, "a") { _ in true }
    _ = pool.acquire(id: 2, "b") { _ in true }
    _ = pool.acquire(id: 3, "c") { _ in true }
    guard case .handOver(let to, let waiter) = pool.release(c, now: 1) else { Issue.record("no hand-over"); return }
    #expect(to === c && waiter == "b")
    guard case .handOver(_, let next) = pool.release(c, now: 2) else { Issue.record("no hand-over"); return }
    #expect(next == "c")
    guard case .idle = pool.release(c, now: 3) else { Issue.record("not idle"); return }
    guard case .use(let reused) = pool.acquire(id: 4, "d", isUsable: { _ in true }) else { Issue.record("not reused"); return }
    #expect(reused === c)
  }

  @Test func aClosedIdleConnectionIsSkippedAndAClosePassesItsSlotToAWaiter() {
    var pool = Pool(limit: 1)
    let c = Conn()
    _ = pool.acquire(id: 1, "a") { _ in true }
    _ = pool.release(c, now: 1)
    // The idle one is dead: dropped from the idle list, but still counted until its close.
    #expect(Self.isWait(pool.acquire(id: 2, "b") { _ in false }))
    guard case .connect(let w) = pool.closed(c) else { Issue.record("no connect for the waiter"); return }
    #expect(w == "b")
    #expect(pool.open == 1)
  }

  @Test func aFailedConnectFreesItsSlot() {
    var pool = Pool(limit: 1)
    _ = pool.acquire(id: 1, "a") { _ in true }
    _ = pool.acquire(id: 2, "b") { _ in true }
    guard case .connect(let w) = pool.connectFailed() else { Issue.record("no retry for the waiter"); return }
    #expect(w == "b")
    guard case .none = pool.connectFailed() else { Issue.record("expected nothing"); return }
    #expect(pool.open == 0)
  }

  @Test func aRemovedWaiterIsNotServed() {
    var pool = Pool(limit: 1)
    let c = Conn()
    _ = pool.acquire(id: 1, "a") { _ in true }
    _ = pool.acquire(id: 2, "b") { _ in true }
    _ = pool.acquire(id: 3, "c") { _ in true }
    let removed = pool.removeWaiter(id: 2)
    let again = pool.removeWaiter(id: 2)
    #expect(removed)
    #expect(!again)
    guard case .handOver(_, let w) = pool.release(c, now: 1) else { Issue.record("no hand-over"); return }
    #expect(w == "c")
  }

  @Test func idleConnectionsExpireAndShutdownClosesThemAndFailsWaiters() {
    var pool = Pool(limit: 2)
    let old = Conn(), fresh = Conn()
    _ = pool.acquire(id: 1, "a") { _ in true }
    _ = pool.acquire(id: 2, "b") { _ in true }
    _ = pool.release(old, now: 10)
    _ = pool.release(fresh, now: 20)
    let expired = pool.expire(before: 15)
    #expect(expired.count == 1 && expired[0] === old)
    _ = pool.acquire(id: 3, "c") { _ in true }  // takes `fresh`
    _ = pool.acquire(id: 4, "d") { _ in true }  // waits: both slots counted
    let (idle, waiters) = pool.shutDown()
    #expect(idle.isEmpty)
    #expect(waiters == ["d"])
    guard case .close = pool.release(fresh, now: 30) else { Issue.record("not closed after shutdown"); return }
    guard case .fail = pool.acquire(id: 5, "e", isUsable: { _ in true }) else { Issue.record("not failed after shutdown"); return }
  }

  /// A caller on an event loop takes the idle connection on its own loop (no thread
  /// hop for the answer) when there is one, else the most recently idle one; a
  /// preferred connection that is closed is dropped and the rest are tried.
  @Test func anIdleConnectionThePoolPrefersIsTakenFirst() {
    var pool = Pool(limit: 4)
    let a = Conn(), b = Conn(), c = Conn(), d = Conn()
    for id in 1...4 { _ = pool.acquire(id: UInt64(id), "r\(id)") { _ in true } }
    for (t, conn) in [a, b, c, d].enumerated() { _ = pool.release(conn, now: UInt64(t)) }
    let cases: [(prefer: Conn?, usable: (Conn) -> Bool, expect: Conn)] = [
      (a, { _ in true }, a),    // the preferred one, though not the most recent
      (nil, { _ in true }, d),  // no preference: the most recent
      (c, { $0 !== c }, b),     // the preferred one is closed: dropped, then the most recent usable
    ]
    for (prefer, usable, expect) in cases {
      guard case .use(let got) = pool.acquire(id: 9, "x", isUsable: usable, prefers: { $0 === prefer }) else {
        Issue.record("no idle connection used"); return
      }
      #expect(got === expect)
    }
    #expect(pool.idle.isEmpty)
  }
}
