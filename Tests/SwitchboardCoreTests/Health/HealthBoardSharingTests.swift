import Synchronization
import Testing

@testable import SwitchboardCore

/// The board's seam to a fleet (`SharedHealthStore`), with an in-memory store on
/// the virtual clock: which changes it publishes, how it uses the probe lease and
/// what it takes from the fleet's view.
@Suite("HealthBoard sharing")
struct HealthBoardSharingTests {
  /// Records what the board publishes; answers lease requests from `answer`.
  final class RecordingStore: SharedHealthStore {
    struct S { var published: [SharedCircuitChange] = []; var leaseCalls = 0; var answer: ProbeLease = .granted }
    let s = Mutex(S())
    func publish(_ key: CircuitKey, _ change: SharedCircuitChange) { s.withLock { $0.published.append(change) } }
    func acquireProbe(_ key: CircuitKey, wallMillis: Int64) async -> ProbeLease {
      s.withLock { $0.leaseCalls += 1; return $0.answer }
    }
    var published: [SharedCircuitChange] { s.withLock { $0.published } }
    var leaseCalls: Int { s.withLock { $0.leaseCalls } }
  }

  let key = CircuitKey(provider: "a", model: "m", keyFingerprint: "k1")
  static let wall0: Int64 = 1_767_225_600_000

  func board(_ clock: VirtualClock, _ store: RecordingStore) -> HealthBoard {
    var p = CircuitPolicy()
    p.failureThreshold = 1; p.baseCooldown = .seconds(1); p.maxCooldown = .seconds(8); p.jitter = 0
    let b = HealthBoard(policy: p, seed: 1)
    b.share(through: store, clock: clock)
    return b
  }

  @Test func withoutAStoreTheProbeIsLocalAndNothingIsShared() async {
    let b = HealthBoard()
    #expect(!b.isShared)
    b.recordFailure(key, class: .hard, retryAfter: nil, now: Instant(nanoseconds: 0))
    #expect(await b.confirmProbe(key, now: Instant(nanoseconds: 0)) == .probe)
  }

  @Test func transitionsArePublishedInWallTimeAndNothingElse() async {
    let clock = VirtualClock(wallOriginMillis: Self.wall0)
    let store = RecordingStore()
    let b = board(clock, store)
    b.recordSuccess(key, probe: false)  // no circuit yet: nothing
    b.recordFailure(key, class: .hard, retryAfter: nil, now: clock.now())
    b.recordFailure(key, class: .transient, retryAfter: nil, now: clock.now(), probe: false)  // stale: no change
    #expect(store.published == [.opened(untilWallMs: Self.wall0 + 1_000, cooldownMs: 1_000, openings: 1, notBeforeWallMs: nil, atWallMs: Self.wall0)])
    clock.advance(by: .seconds(1))
    #expect(b.admit(key, now: clock.now()) == .probe)
    #expect(await b.confirmProbe(key, now: clock.now()) == .probe)
    b.releaseProbe(key)
    #expect(b.admit(key, now: clock.now()) == .probe)
    b.recordSuccess(key, probe: true)
    b.recordFailure(key, class: .semantic, retryAfter: .seconds(5), now: clock.now())
    #expect(Array(store.published.dropFirst()) == [
      .probeReleased(atWallMs: Self.wall0 + 1_000), .closed(atWallMs: Self.wall0 + 1_000),
      .notBefore(wallMs: Self.wall0 + 6_000, atWallMs: Self.wall0 + 1_000),
    ])
  }

  @Test func aRefusedLeaseBlocksLocallyUntilTheFleetsWindowWithoutAskingAgain() async {
    let clock = VirtualClock(wallOriginMillis: Self.wall0)
    let store = RecordingStore()
    let b = board(clock, store)
    b.recordFailure(key, class: .hard, retryAfter: nil, now: clock.now())
    clock.advance(by: .seconds(1))
    store.s.withLock { $0.answer = .refused(untilWallMs: Self.wall0 + 3_000) }
    #expect(b.admit(key, now: clock.now()) == .probe)
    #expect(await b.confirmProbe(key, now: clock.now()) == .rejected(remaining: .seconds(2)))
    clock.advance(by: .milliseconds(1_999))
    #expect(!b.admit(key, now: clock.now()).isAllowed)
    #expect(store.leaseCalls == 1, "the local copy answers while the fleet's window lasts")
    clock.advance(by: .milliseconds(1))
    store.s.withLock { $0.answer = .local }  // the database went away: the local probe stands
    #expect(b.admit(key, now: clock.now()) == .probe)
    #expect(await b.confirmProbe(key, now: clock.now()) == .probe)
  }

  @Test func theFleetsViewBlocksAndClosesTheLocalCopy() {
    let clock = VirtualClock(wallOriginMillis: Self.wall0)
    let store = RecordingStore()
    let b = board(clock, store)
    let open = SharedCircuit(isOpen: true, openUntilWallMs: Self.wall0 + 4_000, cooldownMs: 4_000, openings: 3, notBeforeWallMs: nil,
                             probeHeldElsewhereUntilWallMs: nil, updatedWallMs: Self.wall0)
    b.adopt([key: open], now: clock.now(), wallMillis: clock.wallMillis())
    #expect(b.isBlocked(key, now: clock.now()), "another sidecar's opening blocks here without a local failure")
    #expect(b.snapshot(now: clock.now()).first?.openings == 3)
    clock.advance(by: .seconds(4))
    // Another sidecar holds the probe lease: still blocked here.
    var probing = open
    probing.probeHeldElsewhereUntilWallMs = Self.wall0 + 9_000
    probing.updatedWallMs = Self.wall0 + 4_000
    b.adopt([key: probing], now: clock.now(), wallMillis: clock.wallMillis())
    #expect(b.isBlocked(key, now: clock.now()))
    // Its probe succeeded: the fleet's close closes here too.
    let closed = SharedCircuit(isOpen: false, openUntilWallMs: 0, cooldownMs: 0, openings: 0, notBeforeWallMs: nil,
                               probeHeldElsewhereUntilWallMs: nil, updatedWallMs: Self.wall0 + 4_100)
    b.adopt([key: closed], now: clock.now(), wallMillis: clock.wallMillis())
    #expect(b.admit(key, now: clock.now()) == .allowed)
    #expect(store.published.isEmpty, "adopting the fleet's state publishes nothing")
  }

  @Test func aLocalOpeningNewerThanTheFleetsCloseStands() {
    let clock = VirtualClock(wallOriginMillis: Self.wall0)
    let store = RecordingStore()
    let b = board(clock, store)
    clock.advance(by: .seconds(2))
    b.recordFailure(key, class: .hard, retryAfter: nil, now: clock.now())
    let staleClose = SharedCircuit(isOpen: false, openUntilWallMs: 0, cooldownMs: 0, openings: 0, notBeforeWallMs: nil,
                                   probeHeldElsewhereUntilWallMs: nil, updatedWallMs: Self.wall0 + 1_000)
    b.adopt([key: staleClose], now: clock.now(), wallMillis: clock.wallMillis())
    #expect(b.isBlocked(key, now: clock.now()), "a close older than this sidecar's own opening (not yet written) does not undo it")
  }
}
