import Testing

@testable import SwitchboardCore

/// Table tests of the pure hedge decisions: when a hedge starts, and how a race of
/// attempts in flight resolves (who wins, who is cancelled, what goes back to the loop).
@Suite("AttemptStateMachine: hedging")
struct HedgeStateMachineTests {
  static let t0 = Instant(nanoseconds: 0)
  static let machine = AttemptStateMachine(route: RoutePolicy(name: "r", candidates: []))

  struct DecisionRow: Sendable, CustomTestStringConvertible {
    var name: String
    var state: AttemptStateMachine.HedgeState
    var expected: AttemptStateMachine.HedgeDecision
    var testDescription: String { name }
  }

  static func s(hedges: Int = 0, maxExtra: Int = 1, attempts: Int = 1, maxAttempts: Int = 4, nowMs: Int = 500,
                deadlineMs: Int = 30_000, firstToken: Bool = false, resuming: Bool = false, retry: Bool = true,
                candidate: Bool = true) -> AttemptStateMachine.HedgeState {
    .init(hedgesStarted: hedges, maxExtra: maxExtra, attempts: attempts, maxAttempts: maxAttempts,
          now: t0.advanced(by: .milliseconds(nowMs)), deadline: t0.advanced(by: .milliseconds(deadlineMs)),
          firstTokenSeen: firstToken, resuming: resuming, retryPermitted: retry, candidateAvailable: candidate)
  }

  static let decisionRows: [DecisionRow] = [
    DecisionRow(name: "no first token after the delay: hedge", state: s(), expected: .hedge),
    DecisionRow(name: "a first token came: nothing to hedge", state: s(firstToken: true), expected: .skip(.firstTokenSeen)),
    DecisionRow(name: "max_extra reached", state: s(hedges: 1, maxExtra: 1), expected: .skip(.limit)),
    DecisionRow(name: "max_extra 2 allows a second hedge", state: s(hedges: 1, maxExtra: 2, attempts: 2), expected: .hedge),
    DecisionRow(name: "a continued stream is not hedged", state: s(resuming: true), expected: .skip(.resuming)),
    DecisionRow(name: "max_attempts bounds hedges too", state: s(attempts: 4, maxAttempts: 4), expected: .skip(.attemptsExhausted)),
    DecisionRow(name: "past the overall deadline", state: s(nowMs: 30_000), expected: .skip(.deadline)),
    DecisionRow(name: "retry budget exhausted: no hedge", state: s(retry: false), expected: .skip(.retryBudget)),
    DecisionRow(name: "no eligible candidate (open circuits)", state: s(candidate: false), expected: .skip(.noCandidate)),
    DecisionRow(name: "a first token outranks every other reason", state: s(hedges: 1, firstToken: true, retry: false),
                expected: .skip(.firstTokenSeen)),
  ]

  @Test(arguments: decisionRows)
  func hedgeDecision(_ row: DecisionRow) {
    #expect(Self.machine.hedgeDecision(row.state) == row.expected)
  }

  typealias Race = AttemptStateMachine.HedgeRace
  enum Event: Sendable, Hashable { case start, claim(Int), ended(Int, Race.Ending) }
  enum Got: Sendable, Hashable { case slot(Int), claim(Race.Claim), verdict(Race.Verdict) }

  struct RaceRow: Sendable, CustomTestStringConvertible {
    var name: String
    var steps: [(Event, Got)]
    var winner: Int?
    var decisive: Int?
    var testDescription: String { name }
  }

  static let raceRows: [RaceRow] = [
    RaceRow(name: "unary: the hedge answers first, the primary is cancelled, then ends as a loser",
            steps: [(.start, .slot(0)), (.start, .slot(1)), (.ended(1, .success), .verdict(.decisive(cancel: [0]))),
                    (.ended(0, .cancelled), .verdict(.loser))], winner: 1, decisive: 1),
    RaceRow(name: "stream: the first delta wins and cancels the other at once",
            steps: [(.start, .slot(0)), (.start, .slot(1)), (.claim(0), .claim(.deliver(cancel: [1]))),
                    (.claim(1), .claim(.reject)), (.claim(0), .claim(.deliver(cancel: []))),
                    (.ended(1, .cancelled), .verdict(.loser)), (.ended(0, .success), .verdict(.decisive(cancel: [])))],
            winner: 0, decisive: 0),
    RaceRow(name: "a loser that had a delta in flight is rejected (never interleaves)",
            steps: [(.start, .slot(0)), (.start, .slot(1)), (.claim(1), .claim(.deliver(cancel: [0]))),
                    (.claim(0), .claim(.reject)), (.ended(0, .success), .verdict(.loser)),
                    (.ended(1, .success), .verdict(.decisive(cancel: [])))], winner: 1, decisive: 1),
    RaceRow(name: "the primary fails alone before any hedge: normal failover",
            steps: [(.start, .slot(0)), (.ended(0, .failure), .verdict(.decisive(cancel: [])))], winner: nil, decisive: 0),
    RaceRow(name: "one of two fails: the other continues and ends the race",
            steps: [(.start, .slot(0)), (.start, .slot(1)), (.ended(0, .failure), .verdict(.failedOthersContinue)),
                    (.ended(1, .success), .verdict(.decisive(cancel: [])))], winner: 1, decisive: 1),
    RaceRow(name: "both fail: the last failure goes back to the loop",
            steps: [(.start, .slot(0)), (.start, .slot(1)), (.ended(1, .failure), .verdict(.failedOthersContinue)),
                    (.ended(0, .failure), .verdict(.decisive(cancel: [])))], winner: nil, decisive: 0),
    RaceRow(name: "the stream winner fails after its first token: decisive (stream-failure rules apply)",
            steps: [(.start, .slot(0)), (.start, .slot(1)), (.claim(1), .claim(.deliver(cancel: [0]))),
                    (.ended(0, .cancelled), .verdict(.loser)), (.ended(1, .failure), .verdict(.decisive(cancel: [])))],
            winner: 1, decisive: 1),
    RaceRow(name: "client cancels both: the first out is settled as a loser, the last carries the cancel",
            steps: [(.start, .slot(0)), (.start, .slot(1)), (.ended(0, .cancelled), .verdict(.loser)),
                    (.ended(1, .cancelled), .verdict(.decisive(cancel: [])))], winner: nil, decisive: 1),
    RaceRow(name: "a success after the race was decided is a loser (billed, not served)",
            steps: [(.start, .slot(0)), (.start, .slot(1)), (.ended(0, .success), .verdict(.decisive(cancel: [1]))),
                    (.ended(1, .success), .verdict(.loser))], winner: 0, decisive: 0),
    RaceRow(name: "max_extra 2: the winner cancels both others",
            steps: [(.start, .slot(0)), (.start, .slot(1)), (.start, .slot(2)), (.claim(2), .claim(.deliver(cancel: [0, 1]))),
                    (.ended(0, .cancelled), .verdict(.loser)), (.ended(1, .failure), .verdict(.loser)),
                    (.ended(2, .success), .verdict(.decisive(cancel: [])))], winner: 2, decisive: 2),
  ]

  @Test(arguments: raceRows)
  func race(_ row: RaceRow) {
    var race = Race()
    for (i, (event, expected)) in row.steps.enumerated() {
      let got: Got
      switch event {
      case .start: got = .slot(race.start())
      case .claim(let s): got = .claim(race.claim(s))
      case .ended(let s, let how): got = .verdict(race.ended(s, how))
      }
      #expect(got == expected, "step \(i): \(event)")
    }
    #expect(race.winner == row.winner)
    #expect(race.decisive == row.decisive)
  }

  struct DelayRow: Sendable, CustomTestStringConvertible {
    var name: String
    var policy: HedgePolicy
    var p95Ms: Int?
    var samples: Int
    var expectedMs: Int
    var testDescription: String { name }
  }

  static let delayRows: [DelayRow] = [
    DelayRow(name: "after_ms is fixed", policy: HedgePolicy(delay: .fixed(.milliseconds(300))), p95Ms: 90, samples: 50, expectedMs: 300),
    DelayRow(name: "p95 with data", policy: HedgePolicy(delay: .p95), p95Ms: 420, samples: 20, expectedMs: 420),
    DelayRow(name: "p95 without data: fallback", policy: HedgePolicy(delay: .p95), p95Ms: nil, samples: 0, expectedMs: 1000),
    DelayRow(name: "p95 with too few samples: fallback", policy: HedgePolicy(delay: .p95), p95Ms: 20, samples: 3, expectedMs: 1000),
    DelayRow(name: "p95 never below the floor", policy: HedgePolicy(delay: .p95), p95Ms: 5, samples: 40, expectedMs: 50),
  ]

  @Test(arguments: delayRows)
  func delay(_ row: DelayRow) {
    #expect(row.policy.delay(observedP95: row.p95Ms.map { .milliseconds($0) }, samples: row.samples) == .milliseconds(row.expectedMs))
  }

  @Test func aFailedHedgeMovesOnInsteadOfRetryingInPlace() {
    let f = ProviderFailure(.provider5xx, httpStatus: 503, message: "x")
    let run = AttemptStateMachine.RunState(now: Self.t0, deadline: Self.t0.advanced(by: .seconds(30)))
    guard case .retrySame = Self.machine.afterRaceFailure(f, run, wasHedge: false) else {
      Issue.record("the primary's 5xx is retried in place")
      return
    }
    #expect(Self.machine.afterRaceFailure(f, run, wasHedge: true) == .nextCandidate)
  }
}
