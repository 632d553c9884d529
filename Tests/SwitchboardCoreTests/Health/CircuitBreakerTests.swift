import Testing

@testable import SwitchboardCore

/// Table tests of the pure circuit state machine: a history of inputs, the state after it.
@Suite("CircuitBreaker state machine")
struct CircuitBreakerTests {
  enum Input: Sendable, CustomStringConvertible {
    /// Transient/hard/semantic failure at t (ms), as the probe or not, with a Retry-After (ms).
    case fail(FailureClass, at: Int, probe: Bool = false, retryAfterMs: Int? = nil)
    case success(probe: Bool)
    /// admit at t (ms); the expected verdict.
    case admit(at: Int, Admission)
    case trip(at: Int)
    case release
    /// The fleet's opening until t (ms), `openings` in a row; `replace`: newer than the breaker's own change.
    case adoptOpen(until: Int, openings: Int, replace: Bool)
    case adoptClosed
    case adoptNotBefore(Int)
    /// The fleet refused the probe until t (ms).
    case refuse(until: Int)
    var description: String {
      switch self {
      case .fail(let c, let t, let p, let ra): return "fail(\(c),\(t),probe:\(p),ra:\(ra.map(String.init) ?? "-"))"
      case .success(let p): return "success(probe:\(p))"
      case .admit(let t, let a): return "admit(\(t))=\(a)"
      case .trip(let t): return "trip(\(t))"
      case .release: return "release"
      case .adoptOpen(let u, let n, let r): return "adoptOpen(\(u),\(n),replace:\(r))"
      case .adoptClosed: return "adoptClosed"
      case .adoptNotBefore(let t): return "adoptNotBefore(\(t))"
      case .refuse(let u): return "refuse(\(u))"
      }
    }
  }

  struct Row: Sendable, CustomTestStringConvertible {
    var name: String
    var inputs: [Input]
    /// The state at the end: "closed:N", "open:UNTIL_MS", "half_open:inflight|free".
    var state: String
    var openings: Int
    var testDescription: String { name }
  }

  static let t0 = Instant(nanoseconds: 0)
  static func at(_ ms: Int) -> Instant { t0.advanced(by: .milliseconds(ms)) }
  static var policy: CircuitPolicy {
    var p = CircuitPolicy()
    p.failureThreshold = 3; p.baseCooldown = .seconds(1); p.maxCooldown = .seconds(8); p.jitter = 0
    return p
  }

  static let rows: [Row] = [
    Row(name: "failures below the threshold stay closed", inputs: [.fail(.transient, at: 0), .fail(.transient, at: 1)],
        state: "closed:2", openings: 0),
    Row(name: "threshold opens", inputs: [.fail(.transient, at: 0), .fail(.transient, at: 1), .fail(.transient, at: 2)],
        state: "open:1002", openings: 1),
    Row(name: "a success on a closed circuit resets the count",
        inputs: [.fail(.transient, at: 0), .fail(.transient, at: 1), .success(probe: false), .fail(.transient, at: 2)],
        state: "closed:1", openings: 0),
    Row(name: "hard opens at once", inputs: [.fail(.hard, at: 5)], state: "open:1005", openings: 1),
    Row(name: "semantic never counts", inputs: Array(repeating: .fail(.semantic, at: 0), count: 10), state: "closed:0", openings: 0),
    Row(name: "stale success while open does not close (stale-success)",
        inputs: [.fail(.hard, at: 0), .success(probe: false)], state: "open:1000", openings: 1),
    Row(name: "stale success while half-open does not close, the probe's verdict counts",
        inputs: [.fail(.hard, at: 0), .admit(at: 1000, .probe), .success(probe: false), .admit(at: 1001, .rejected(remaining: .zero))],
        state: "half_open:inflight", openings: 1),
    Row(name: "probe success closes and resets the back-off",
        inputs: [.fail(.hard, at: 0), .admit(at: 1000, .probe), .success(probe: true), .admit(at: 1000, .allowed)],
        state: "closed:0", openings: 0),
    Row(name: "probe failure re-opens with the doubled cooldown",
        inputs: [.fail(.hard, at: 0), .admit(at: 1000, .probe), .fail(.transient, at: 1000, probe: true)],
        state: "open:3000", openings: 2),
    Row(name: "stale failure while half-open is not the verdict",
        inputs: [.fail(.hard, at: 0), .admit(at: 1000, .probe), .fail(.transient, at: 1000, probe: false)],
        state: "half_open:inflight", openings: 1),
    Row(name: "semantic probe failure frees the slot",
        inputs: [.fail(.hard, at: 0), .admit(at: 1000, .probe), .fail(.semantic, at: 1000, probe: true), .admit(at: 1000, .probe)],
        state: "half_open:inflight", openings: 1),
    Row(name: "released probe lets the next one through",
        inputs: [.fail(.hard, at: 0), .admit(at: 1000, .probe), .release], state: "half_open:free", openings: 1),
    Row(name: "Retry-After holds while closed (not-before)",
        inputs: [.fail(.transient, at: 0, retryAfterMs: 60_000), .admit(at: 1, .rejected(remaining: .milliseconds(59_999))),
                 .admit(at: 60_000, .allowed)],
        state: "closed:1", openings: 0),
    Row(name: "Retry-After floors the cooldown when opening",
        inputs: [.fail(.hard, at: 0, retryAfterMs: 5_000), .admit(at: 4_999, .rejected(remaining: .milliseconds(1)))],
        state: "open:5000", openings: 1),
    Row(name: "stale Retry-After extends an open window",
        inputs: [.fail(.hard, at: 0), .fail(.transient, at: 10, retryAfterMs: 7_000)], state: "open:7010", openings: 1),
    Row(name: "trip opens a closed circuit", inputs: [.trip(at: 3)], state: "open:1003", openings: 1),
    Row(name: "cooldown caps at max",
        inputs: [.fail(.hard, at: 0), .admit(at: 1000, .probe), .fail(.hard, at: 1000, probe: true),
                 .admit(at: 3000, .probe), .fail(.hard, at: 3000, probe: true),
                 .admit(at: 7000, .probe), .fail(.hard, at: 7000, probe: true),
                 .admit(at: 15000, .probe), .fail(.hard, at: 15000, probe: true)],
        state: "open:23000", openings: 5),
    // Shared health: what the fleet's view does to a local breaker.
    Row(name: "a closed breaker takes the fleet's opening and blocks",
        inputs: [.adoptOpen(until: 2_000, openings: 2, replace: true), .admit(at: 1_999, .rejected(remaining: .milliseconds(1)))],
        state: "open:2000", openings: 2),
    Row(name: "after the fleet's window the local breaker offers the one probe",
        inputs: [.adoptOpen(until: 2_000, openings: 1, replace: true), .admit(at: 2_000, .probe), .admit(at: 2_001, .rejected(remaining: .zero))],
        state: "half_open:inflight", openings: 1),
    Row(name: "the fleet's back-off count drives the next cooldown after a failed probe",
        inputs: [.adoptOpen(until: 2_000, openings: 2, replace: true), .admit(at: 2_000, .probe), .fail(.transient, at: 2_000, probe: true)],
        state: "open:6000", openings: 3),
    Row(name: "older fleet news never shortens the breaker's own window",
        inputs: [.fail(.hard, at: 0), .adoptOpen(until: 500, openings: 1, replace: false)], state: "open:1000", openings: 1),
    Row(name: "newer fleet news replaces the window",
        inputs: [.fail(.hard, at: 0), .adoptOpen(until: 500, openings: 1, replace: true)], state: "open:500", openings: 1),
    Row(name: "a probe in flight here is left to its verdict",
        inputs: [.fail(.hard, at: 0), .admit(at: 1_000, .probe), .adoptOpen(until: 9_000, openings: 4, replace: true), .adoptClosed],
        state: "half_open:inflight", openings: 1),
    Row(name: "the fleet's close (another sidecar's probe succeeded) closes and resets the back-off",
        inputs: [.fail(.hard, at: 0), .adoptClosed, .admit(at: 1, .allowed)], state: "closed:0", openings: 0),
    Row(name: "the fleet's close keeps a closed breaker's failure count",
        inputs: [.fail(.transient, at: 0), .adoptClosed], state: "closed:1", openings: 0),
    Row(name: "a refused probe gives the slot back and waits for the fleet's window",
        inputs: [.fail(.hard, at: 0), .admit(at: 1_000, .probe), .refuse(until: 1_500), .admit(at: 1_499, .rejected(remaining: .milliseconds(1))),
                 .admit(at: 1_500, .probe)],
        state: "half_open:inflight", openings: 1),
    Row(name: "a fleet Retry-After blocks a closed breaker; the later one wins",
        inputs: [.adoptNotBefore(3_000), .adoptNotBefore(2_000), .admit(at: 2_999, .rejected(remaining: .milliseconds(1))), .admit(at: 3_000, .allowed)],
        state: "closed:0", openings: 0),
  ]

  static func describe(_ b: CircuitBreaker) -> String {
    switch b.state {
    case .closed(let f): return "closed:\(f)"
    case .open(let until, _): return "open:\(Int(until.duration(since: t0).milliseconds))"
    case .halfOpen(let inFlight, _): return "half_open:\(inFlight ? "inflight" : "free")"
    }
  }

  @Test(arguments: rows)
  func transitions(_ row: Row) {
    var b = CircuitBreaker()
    for input in row.inputs {
      switch input {
      case .fail(let c, let t, let probe, let ra):
        b.recordFailure(c, retryAfter: ra.map { .milliseconds($0) }, now: Self.at(t), probe: probe, policy: Self.policy, jitter: 0.5)
      case .success(let probe): b.recordSuccess(probe: probe)
      case .admit(let t, let expected):
        #expect(b.admit(now: Self.at(t)) == expected, "\(row.name): \(input)")
      case .trip(let t): b.trip(now: Self.at(t), policy: Self.policy, jitter: 0.5)
      case .release: b.releaseProbe()
      case .adoptOpen(let u, let n, let r): b.adoptOpen(until: Self.at(u), cooldown: .seconds(1), openings: n, replace: r)
      case .adoptClosed: b.adoptClosed()
      case .adoptNotBefore(let t): b.adoptNotBefore(Self.at(t))
      case .refuse(let u): b.refuseProbe(until: Self.at(u))
      }
    }
    #expect(Self.describe(b) == row.state, "\(row.name)")
    #expect(b.openings == row.openings, "\(row.name)")
  }

  @Test(arguments: [(0.0, 800.0), (0.5, 1000.0), (0.999_999, 1200.0)])
  func jitterSampleMapsToPlusMinusTheFraction(sample: Double, expectedMs: Double) {
    var p = Self.policy
    p.jitter = 0.2
    let d = CircuitBreaker.cooldown(opening: 1, policy: p, jitter: sample)
    #expect(abs(d.milliseconds - expectedMs) < 0.01)
  }
}
