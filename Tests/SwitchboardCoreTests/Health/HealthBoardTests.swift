import Testing

@testable import SwitchboardCore

@Suite("HealthBoard")
struct HealthBoardTests {
  let key = CircuitKey(provider: "a", model: "m", keyFingerprint: "none")
  let t0 = Instant(nanoseconds: 0)

  func policy(threshold: Int = 3, base: Duration = .seconds(1), max: Duration = .seconds(10), jitter: Double = 0) -> CircuitPolicy {
    var p = CircuitPolicy()
    p.failureThreshold = threshold; p.baseCooldown = base; p.maxCooldown = max; p.jitter = jitter
    return p
  }

  func state(_ board: HealthBoard, _ key: CircuitKey, _ now: Instant) -> CircuitSnapshot? {
    board.snapshot(now: now).first { $0.key == key }
  }

  @Test func consecutiveTransientFailuresOpenAtThreshold() {
    let board = HealthBoard(policy: policy())
    board.recordFailure(key, class: .transient, retryAfter: nil, now: t0)
    board.recordFailure(key, class: .transient, retryAfter: nil, now: t0)
    #expect(board.admit(key, now: t0) == .allowed)
    board.recordSuccess(key, probe: false)  // consecutive: a success resets the count
    board.recordFailure(key, class: .transient, retryAfter: nil, now: t0)
    board.recordFailure(key, class: .transient, retryAfter: nil, now: t0)
    #expect(board.admit(key, now: t0) == .allowed)
    board.recordFailure(key, class: .transient, retryAfter: nil, now: t0)
    #expect(!board.admit(key, now: t0).isAllowed)
    #expect(state(board, key, t0)?.state == "open")
  }

  @Test func hardFailureOpensAtOnce() {
    let board = HealthBoard(policy: policy())
    board.recordFailure(key, class: .hard, retryAfter: nil, now: t0)
    #expect(board.isBlocked(key, now: t0))
  }

  @Test func semanticFailuresNeverOpen() {
    let board = HealthBoard(policy: policy(threshold: 1))
    for _ in 0..<50 { board.recordFailure(key, class: .semantic, retryAfter: nil, now: t0) }
    #expect(board.admit(key, now: t0) == .allowed)
    #expect(!board.isBlocked(key, now: t0))
  }

  /// Fails every probe and returns the cooldown after each opening.
  func cooldowns(_ board: HealthBoard, _ key: CircuitKey, openings: Int, retryAfter: Duration? = nil) -> [Duration] {
    var now = t0
    var out: [Duration] = []
    board.recordFailure(key, class: .hard, retryAfter: retryAfter, now: now)
    for _ in 0..<openings {
      let s = state(board, key, now)!
      out.append(s.cooldown)
      now = now.advanced(by: s.cooldownRemaining)
      #expect(board.admit(key, now: now) == .probe)
      board.recordFailure(key, class: .transient, retryAfter: retryAfter, now: now, probe: true)
    }
    return out
  }

  @Test func cooldownDoublesThenCaps() {
    let board = HealthBoard(policy: policy(base: .seconds(1), max: .seconds(10)))
    #expect(cooldowns(board, key, openings: 6) == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(10), .seconds(10)])
  }

  @Test(arguments: 0..<40)
  func jitterStaysWithinBoundsAndUnderTheCap(seed: Int) {
    let p = policy(base: .seconds(1), max: .seconds(6), jitter: 0.25)
    let board = HealthBoard(policy: p)
    let k = CircuitKey(provider: "p\(seed)", model: "m", keyFingerprint: "k\(seed)")
    for (i, cd) in cooldowns(board, k, openings: 5).enumerated() {
      let nominal = min(1.0 * Double(1 << i), 6.0)
      #expect(cd.milliseconds >= nominal * 1000 * 0.75 - 0.001, "opening \(i + 1): \(cd)")
      #expect(cd.milliseconds <= min(nominal * 1000 * 1.25, 6000) + 0.001, "opening \(i + 1): \(cd)")
    }
  }

  @Test func jitterActuallyVaries() {
    let p = policy(base: .seconds(1), max: .seconds(60), jitter: 0.2)
    let board = HealthBoard(policy: p)
    let firsts = Set((0..<20).map { i -> Duration in
      let k = CircuitKey(provider: "p\(i)", model: "m", keyFingerprint: "none")
      board.recordFailure(k, class: .hard, retryAfter: nil, now: t0)
      return state(board, k, t0)!.cooldown
    })
    #expect(firsts.count > 5)
  }

  @Test func retryAfterIsAFloor() {
    let board = HealthBoard(policy: policy(base: .seconds(1), max: .seconds(10)))
    #expect(cooldowns(board, key, openings: 3, retryAfter: .seconds(5)) == [.seconds(5), .seconds(5), .seconds(5)])
    let board2 = HealthBoard(policy: policy(base: .seconds(1), max: .seconds(10)))
    // A Retry-After above the cap still wins: the provider said so.
    #expect(cooldowns(board2, key, openings: 1, retryAfter: .seconds(30)) == [.seconds(30)])
  }

  @Test func exactlyOneProbeAndSuccessCloses() {
    let board = HealthBoard(policy: policy())
    board.recordFailure(key, class: .hard, retryAfter: nil, now: t0)
    let before = t0.advanced(by: .milliseconds(999))
    #expect(board.admit(key, now: before) == .rejected(remaining: .milliseconds(1)))
    let after = t0.advanced(by: .seconds(1))
    #expect(board.admit(key, now: after) == .probe)
    for _ in 0..<10 { #expect(!board.admit(key, now: after).isAllowed) }
    #expect(board.isBlocked(key, now: after))
    board.recordSuccess(key, probe: true)
    #expect(board.admit(key, now: after) == .allowed)
    #expect(state(board, key, after)?.state == "closed")
    #expect(state(board, key, after)?.openings == 0)
  }

  @Test func failedProbeReopensWithLongerCooldown() {
    let board = HealthBoard(policy: policy())
    board.recordFailure(key, class: .hard, retryAfter: nil, now: t0)
    let t1 = t0.advanced(by: .seconds(1))
    #expect(board.admit(key, now: t1) == .probe)
    board.recordFailure(key, class: .transient, retryAfter: nil, now: t1, probe: true)
    #expect(state(board, key, t1)?.cooldown == .seconds(2))
    #expect(!board.admit(key, now: t1.advanced(by: .milliseconds(1999))).isAllowed)
    #expect(board.admit(key, now: t1.advanced(by: .seconds(2))) == .probe)
  }

  @Test func semanticProbeFailureFreesTheSlot() {
    let board = HealthBoard(policy: policy())
    board.recordFailure(key, class: .hard, retryAfter: nil, now: t0)
    let t1 = t0.advanced(by: .seconds(1))
    #expect(board.admit(key, now: t1) == .probe)
    board.recordFailure(key, class: .semantic, retryAfter: nil, now: t1, probe: true)
    #expect(board.admit(key, now: t1) == .probe)
  }

  @Test func staleFailuresOfRequestsAdmittedBeforeOpeningDoNotGrowTheCooldown() {
    let board = HealthBoard(policy: policy(threshold: 3))
    // 50 requests admitted while closed all fail at about the same time.
    for _ in 0..<50 { board.recordFailure(key, class: .transient, retryAfter: nil, now: t0, probe: false) }
    let s = state(board, key, t0)!
    #expect(s.openings == 1)
    #expect(s.cooldown == .seconds(1))
    // A stale failure while half-open does not take the probe's verdict either.
    let t1 = t0.advanced(by: .seconds(1))
    #expect(board.admit(key, now: t1) == .probe)
    board.recordFailure(key, class: .transient, retryAfter: nil, now: t1, probe: false)
    #expect(state(board, key, t1)?.state == "half_open")
    // A stale Retry-After still floors the open window.
    let board2 = HealthBoard(policy: policy(threshold: 1))
    board2.recordFailure(key, class: .transient, retryAfter: nil, now: t0, probe: false)
    board2.recordFailure(key, class: .transient, retryAfter: .seconds(7), now: t0, probe: false)
    #expect(board2.admit(key, now: t0.advanced(by: .seconds(6))).isAllowed == false)
    #expect(board2.admit(key, now: t0.advanced(by: .seconds(7))) == .probe)
  }

  @Test func jitterIsPerProcessAndSeedable() {
    // Same key, same history: two processes (boards) with different seeds open for
    // different cooldowns (no lock-step re-probing); the same seed repeats exactly.
    func first(_ seed: UInt64) -> Duration {
      let b = HealthBoard(policy: policy(jitter: 0.2), seed: seed)
      b.recordFailure(key, class: .hard, retryAfter: nil, now: t0)
      return state(b, key, t0)!.cooldown
    }
    #expect(first(1) == first(1))
    #expect(Set((1...10).map { first(UInt64($0)) }).count > 5)
  }

  @Test func aLateSuccessDoesNotCloseAnOpenCircuit() {
    let board = HealthBoard(policy: policy())
    board.recordFailure(key, class: .hard, retryAfter: nil, now: t0)
    board.recordSuccess(key, probe: false)  // admitted before the opening, answered late
    #expect(state(board, key, t0)?.state == "open")
    #expect(board.isBlocked(key, now: t0.advanced(by: .milliseconds(500))))
  }

  @Test func retryAfterHoldsEvenWhileClosed() {
    let board = HealthBoard(policy: policy(threshold: 3))
    board.recordFailure(key, class: .transient, retryAfter: .seconds(60), now: t0, probe: false)
    #expect(state(board, key, t0)?.state == "closed")
    #expect(board.admit(key, now: t0.advanced(by: .milliseconds(1))) == .rejected(remaining: .milliseconds(59_999)))
    #expect(board.isBlocked(key, now: t0.advanced(by: .seconds(59))))
    #expect(board.admit(key, now: t0.advanced(by: .seconds(60))) == .allowed)
  }

  @Test func circuitsArePerKey() {
    let board = HealthBoard(policy: policy())
    let other = CircuitKey(provider: "a", model: "m", keyFingerprint: "sha256:other")
    board.recordFailure(key, class: .hard, retryAfter: nil, now: t0)
    #expect(board.isBlocked(key, now: t0))
    #expect(!board.isBlocked(other, now: t0))
  }

  @Test func releaseProbeLetsTheNextOneThrough() {
    let board = HealthBoard(policy: policy())
    board.recordFailure(key, class: .hard, retryAfter: nil, now: t0)
    let t1 = t0.advanced(by: .seconds(1))
    #expect(board.admit(key, now: t1) == .probe)
    board.releaseProbe(key)
    #expect(board.admit(key, now: t1) == .probe)
  }
}
