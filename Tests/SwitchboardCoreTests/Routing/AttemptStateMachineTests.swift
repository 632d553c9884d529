import Testing

@testable import SwitchboardCore

/// Table tests of the pure attempt decisions: (failure, run state, route) → decision.
@Suite("AttemptStateMachine")
struct AttemptStateMachineTests {
  static let t0 = Instant(nanoseconds: 0)
  static func ms(_ v: Int) -> Duration { .milliseconds(v) }

  struct Row: Sendable, CustomTestStringConvertible {
    var name: String
    var failure: ProviderFailure
    var state: AttemptStateMachine.RunState
    var configure: @Sendable (inout RoutePolicy) -> Void = { _ in }
    var expected: AttemptStateMachine.Decision
    var testDescription: String { name }
  }

  static func state(retries: Int = 0, key: Int = 0, keys: Int = 1, deadlineMs: Int = 30_000, delivered: Bool = false,
                    permitted: Bool = true, jitter: Double = 0.5) -> AttemptStateMachine.RunState {
    .init(sameCandidateRetries: retries, keyIndex: key, keyCount: keys, now: t0, deadline: t0.advanced(by: ms(deadlineMs)),
          delivered: delivered, retryPermitted: permitted, jitter: jitter)
  }

  // Defaults: 1 same-candidate retry, back-off 200 ms (jittered to [100, 200] ms), retry_after_max 5 s.
  static let rows: [Row] = [
    Row(name: "5xx is retried in place after a jittered back-off", failure: failure(.provider5xx, status: 503),
        state: state(jitter: 0.5), expected: .retrySame(after: ms(150))),
    Row(name: "back-off is never zero: jitter 0 gives half the base", failure: failure(.provider5xx, status: 503),
        state: state(jitter: 0), expected: .retrySame(after: ms(100))),
    Row(name: "second retry doubles the back-off", failure: failure(.provider5xx, status: 503),
        state: state(retries: 1, jitter: 0.999_999_999), configure: { $0.retry.sameCandidateRetries = 3 },
        expected: .retrySame(after: .nanoseconds(399_999_999))),
    Row(name: "back-off caps at backoff_max", failure: failure(.provider5xx, status: 503),
        state: state(retries: 9, jitter: 0), configure: { $0.retry.sameCandidateRetries = 20 },
        expected: .retrySame(after: ms(1000))),
    Row(name: "retries of a candidate are bounded", failure: failure(.provider5xx, status: 503),
        state: state(retries: 1), expected: .nextCandidate),
    Row(name: "the retry budget can forbid the retry (retry-storm)", failure: failure(.provider5xx, status: 503),
        state: state(permitted: false), expected: .nextCandidate),
    Row(name: "the back-off must end before the deadline", failure: failure(.provider5xx, status: 503),
        state: state(deadlineMs: 120, jitter: 0.5), expected: .nextCandidate),
    Row(name: "Retry-After longer than the back-off is waited", failure: failure(.rateLimited, status: 429, retryAfter: .seconds(2)),
        state: state(), expected: .retrySame(after: .seconds(2))),
    Row(name: "429 without Retry-After fails over", failure: failure(.rateLimited, status: 429), state: state(), expected: .nextCandidate),
    Row(name: "429 Retry-After above retry_after_max fails over", failure: failure(.rateLimited, status: 429, retryAfter: .seconds(6)),
        state: state(), expected: .nextCandidate),
    Row(name: "5xx Retry-After above retry_after_max fails over (not a 20 s sleep)",
        failure: failure(.provider5xx, status: 503, retryAfter: .seconds(20)), state: state(), expected: .nextCandidate),
    Row(name: "back-off above retry_after_max fails over", failure: failure(.provider5xx, status: 503),
        state: state(jitter: 0.5), configure: { $0.retry.backoffBase = .seconds(8); $0.retry.backoffMax = .seconds(8) },
        expected: .nextCandidate),
    Row(name: "no back-off when configured off", failure: failure(.provider5xx, status: 503),
        state: state(), configure: { $0.retry.backoffBase = .zero }, expected: .retrySame(after: .zero)),
    Row(name: "reset before headers is cheap", failure: failure(.connectionReset), state: state(), expected: .retrySame(after: ms(150))),
    Row(name: "reset after headers moves on", failure: failure(.connectionReset, afterHeaders: true), state: state(), expected: .nextCandidate),
    Row(name: "silent timeout moves on", failure: failure(.timeout, silent: true), state: state(), expected: .nextCandidate),
    Row(name: "first-token timeout moves on", failure: failure(.firstTokenTimeout, afterHeaders: true), state: state(), expected: .nextCandidate),
    Row(name: "stall moves on", failure: failure(.streamStalled, afterHeaders: true), state: state(), expected: .nextCandidate),
    Row(name: "connect failure moves on", failure: failure(.connectFailed), state: state(), expected: .nextCandidate),
    Row(name: "a delivered stream is never retried in place", failure: failure(.provider5xx, status: 503),
        state: state(delivered: true), expected: .nextCandidate),
    Row(name: "on_stream_failure error ends a delivered stream", failure: failure(.streamCut, afterHeaders: true),
        state: state(delivered: true), configure: { $0.onStreamFailure = .error },
        expected: .terminal(RoutingError(.unavailable, .streamCut, "stream failed after the answer began: test stream_cut", retryable: true))),
    Row(name: "a bad key tries the next key", failure: failure(.invalidCredentials, status: 401), state: state(key: 0, keys: 2),
        expected: .nextKey),
    Row(name: "an exhausted quota tries the next key", failure: failure(.quotaExhausted, status: 402), state: state(key: 0, keys: 2),
        expected: .nextKey),
    Row(name: "the last bad key moves on", failure: failure(.invalidCredentials, status: 401), state: state(key: 1, keys: 2),
        expected: .nextCandidate),
    Row(name: "model not found moves on", failure: failure(.modelNotFound, status: 404), state: state(keys: 2), expected: .nextCandidate),
    Row(name: "context too long moves on", failure: failure(.contextLengthExceeded, status: 400), state: state(), expected: .nextCandidate),
    Row(name: "content policy propagates by default", failure: failure(.contentPolicy, status: 400), state: state(),
        expected: .terminal(RoutingError(.upstreamRejected, .contentPolicy, "test content_policy"))),
    Row(name: "content policy falls back when the route says so", failure: failure(.contentPolicy, status: 200), state: state(),
        configure: { $0.contentPolicyFallback = true }, expected: .nextCandidate),
    Row(name: "invalid request propagates", failure: failure(.invalidRequest, status: 400), state: state(),
        expected: .terminal(RoutingError(.upstreamRejected, .invalidRequest, "test invalid_request"))),
    Row(name: "a rejected prefill moves on", failure: failure(.prefillRejected, status: 400), state: state(), expected: .nextCandidate),
  ]

  @Test(arguments: rows)
  func afterFailure(_ row: Row) {
    var route = RoutePolicy(name: "r", candidates: [])
    row.configure(&route)
    let machine = AttemptStateMachine(route: route)
    #expect(machine.afterFailure(row.failure, row.state) == row.expected, "\(row.name)")
  }

  struct ResumeRow: Sendable, CustomTestStringConvertible {
    var name: String
    var pending: ReasonCode?
    var delivered: String
    var canPrefill: Bool
    var restartAllowed: Bool
    var policy: StreamFailurePolicy
    var expected: AttemptStateMachine.Resume
    var testDescription: String { name }
  }

  static let resumeRows: [ResumeRow] = [
    ResumeRow(name: "nothing pending is a fresh attempt", pending: nil, delivered: "", canPrefill: true, restartAllowed: true,
              policy: .restart, expected: .fresh),
    ResumeRow(name: "restart policy restarts", pending: .streamCut, delivered: "abc", canPrefill: true, restartAllowed: true,
              policy: .restart, expected: .restart),
    ResumeRow(name: "continue policy prefills where it can", pending: .streamCut, delivered: "abc", canPrefill: true,
              restartAllowed: true, policy: .continue, expected: .prefill("abc")),
    ResumeRow(name: "continue policy restarts where it cannot prefill", pending: .streamCut, delivered: "abc", canPrefill: false,
              restartAllowed: true, policy: .continue, expected: .restart),
    ResumeRow(name: "a client that cannot discard gets a continuation even under restart", pending: .streamCut, delivered: "abc",
              canPrefill: true, restartAllowed: false, policy: .restart, expected: .prefill("abc")),
    ResumeRow(name: "a client that cannot discard, on a candidate that cannot continue: end, never splice",
              pending: .streamStalled, delivered: "abc", canPrefill: false, restartAllowed: false, policy: .restart,
              expected: .terminal(RoutingError(.unavailable, .streamStalled,
                                               "stream failed after the answer began and cannot be continued on b/m", retryable: true))),
  ]

  @Test(arguments: resumeRows)
  func resume(_ row: ResumeRow) {
    var route = RoutePolicy(name: "r", candidates: [])
    route.onStreamFailure = row.policy
    let machine = AttemptStateMachine(route: route)
    let got = machine.resume(pending: row.pending, delivered: row.delivered, canPrefill: row.canPrefill,
                             restartAllowed: row.restartAllowed, candidate: Fixture.b)
    #expect(got == row.expected, "\(row.name)")
  }

  @Test func retryBudgetIsATokenBucket() {
    var b = RetryBudget(policy: .init(maxTokens: 10, tokenRatio: 0.1))
    #expect(b.isRetryPermitted)
    for _ in 0..<5 { b.recordFailure() }
    #expect(!b.isRetryPermitted, "5 tokens left of 10: not above half")
    b.recordSuccess()
    #expect(b.isRetryPermitted, "5.1 > 5")
    for _ in 0..<100 { b.recordFailure() }
    #expect(b.tokens == 0)
    for _ in 0..<50 { b.recordSuccess() }
    #expect(!b.isRetryPermitted, "50 successes refill 5 tokens: exactly half, still closed")
    b.recordSuccess()
    #expect(b.isRetryPermitted)
    for _ in 0..<1000 { b.recordSuccess() }
    #expect(b.tokens == 10, "capped at max_tokens")
    var off = RetryBudget(policy: .init(maxTokens: 0))
    for _ in 0..<10 { off.recordFailure() }
    #expect(off.isRetryPermitted, "max_tokens 0 turns the budget off")
  }
}
