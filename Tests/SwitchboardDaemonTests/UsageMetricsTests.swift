import Foundation
import SwitchboardCore
@testable import SwitchboardDaemon
import Testing

/// Issue 16, item 2: tokens, spend, time to first token, per-route duration, build
/// info and process metrics; bounded labels whatever a client names.
@Suite struct UsageMetricsTests {
  /// A failed-over streamed request: a cut first attempt on `bad/m` (partial usage,
  /// charged) and a successful second on `fast/m` with cached input tokens.
  static func failedOverStream(route: String = "default", tenant: String = "payments") throws -> DecisionEvent {
    var e = try MetricsHardeningTests.event(model: "m", provider: "bad", reason: "stream_cut", failureClass: "transient",
                                            outcome: "failed")
    e.outcome = .success
    e.route = route
    e.tenant = tenant
    e.stream = true
    e.totalLatencyMs = 730
    e.attempts[0].outcome = .failed
    e.attempts[0].latencyMs = 200
    e.attempts[0].firstTokenMs = 120
    e.attempts[0].usage = Usage(inputTokens: 100, outputTokens: 7)
    e.attempts[0].chargedMicroUSD = 114
    var second = e.attempts[0]
    second.index = 2
    second.provider = "fast"; second.outcome = .success; second.failureClass = nil; second.reason = nil
    second.latencyMs = 500
    second.firstTokenMs = 30
    second.usage = Usage(inputTokens: 1000, outputTokens: 50, cachedInputTokens: 600)
    second.chargedMicroUSD = 1_100
    e.attempts.append(second)
    e.totalSpendMicroUSD = 1_214
    return e
  }

  static let domain = SwitchboardMetrics.LabelDomain(
    providers: ["fast", "bad"], candidates: [CandidateRef(provider: "fast", model: "m"), CandidateRef(provider: "bad", model: "m")],
    routes: ["default", "failover"], tenants: ["payments"])

  @Test func tokensSpendAndFirstTokenAreCountedPerAttempt() throws {
    let m = SwitchboardMetrics()
    m.setLabelDomain(Self.domain)
    m.record(try Self.failedOverStream(), overhead: .microseconds(40))
    m.record(try Self.failedOverStream(), overhead: .microseconds(40))
    let p = try parseExposition(m.render(circuits: [], budgets: []))
    let fast = ["route": "default", "provider": "fast", "model": "m", "tenant": "payments"]
    let bad = ["route": "default", "provider": "bad", "model": "m", "tenant": "payments"]
    #expect(p.value("switchboard_input_tokens_total", fast) == 2000)
    #expect(p.value("switchboard_output_tokens_total", fast) == 100)
    #expect(p.value("switchboard_cached_input_tokens_total", fast) == 1200)
    #expect(p.value("switchboard_spend_usd_total", fast) == 0.0022)
    // The cut attempt's tokens and charge count too: it was paid for.
    #expect(p.value("switchboard_input_tokens_total", bad) == 200)
    #expect(p.value("switchboard_output_tokens_total", bad) == 14)
    #expect(p.value("switchboard_spend_usd_total", bad) == 0.000228)
    // Spend adds up to what the ledger charged for the requests.
    let spend = p.samples.filter { $0.name == "switchboard_spend_usd_total" }.map(\.value).reduce(0, +)
    #expect(abs(spend - 2 * 0.001214) < 1e-12)

    // TTFT by route/provider/model: 120 ms (bad) and 30 ms (fast).
    let ttftFast = ["route": "default", "provider": "fast", "model": "m"]
    #expect(p.value("switchboard_time_to_first_token_seconds_count", ttftFast) == 2)
    #expect(p.value("switchboard_time_to_first_token_seconds_bucket", ttftFast.merging(["le": "0.025"]) { $1 }) == 0)
    #expect(p.value("switchboard_time_to_first_token_seconds_bucket", ttftFast.merging(["le": "0.05"]) { $1 }) == 2)
    #expect(abs(p.value("switchboard_time_to_first_token_seconds_sum", ttftFast)! - 0.06) < 1e-9)
    #expect(p.value("switchboard_time_to_first_token_seconds_bucket",
                    ["route": "default", "provider": "bad", "model": "m", "le": "0.25"]) == 2)

    // End to end, per route: 730 ms.
    #expect(p.value("switchboard_request_duration_seconds_count", ["route": "default"]) == 2)
    #expect(p.value("switchboard_request_duration_seconds_bucket", ["route": "default", "le": "0.5"]) == 0)
    #expect(p.value("switchboard_request_duration_seconds_bucket", ["route": "default", "le": "1"]) == 2)
  }

  @Test func unaryAttemptsHaveNoFirstTokenAndSkippedOnesNoUsage() throws {
    let m = SwitchboardMetrics()
    var e = try MetricsHardeningTests.event(model: "m")
    e.attempts[0].usage = Usage(inputTokens: 10, outputTokens: 5)
    var skipped = e.attempts[0]
    skipped.outcome = .skipped; skipped.provider = "bad"; skipped.usage = .zero; skipped.reason = "circuit_open"
    e.attempts.insert(skipped, at: 0)
    m.record(e, overhead: .zero)
    let p = try parseExposition(m.render(circuits: [], budgets: []))
    #expect(p.samples.filter { $0.name.hasPrefix("switchboard_time_to_first_token_seconds") }.isEmpty)
    #expect(p.samples.filter { $0.name == "switchboard_input_tokens_total" }.map { $0.labels["provider"] } == ["fast"])
  }

  /// A client inventing tenants (in-process callers name any; `uid:N` for every
  /// unmapped uid) cannot grow the label space past the configured tenants plus
  /// `maxDynamicTenantLabels`; configured tenants keep their label after the cap.
  @Test func inventedTenantsFoldIntoOther() throws {
    let m = SwitchboardMetrics()
    m.setLabelDomain(Self.domain)
    for i in 0..<500 { m.record(try Self.failedOverStream(tenant: "invented-\(i)"), overhead: .zero) }
    m.record(try Self.failedOverStream(tenant: "payments"), overhead: .zero)
    m.record(try Self.failedOverStream(tenant: "invented-3"), overhead: .zero)  // one of the first 32: keeps its label
    let p = try parseExposition(m.render(circuits: [], budgets: []))
    let tenants = Set(p.samples.filter { $0.name == "switchboard_spend_usd_total" }.compactMap { $0.labels["tenant"] })
    #expect(tenants.count == SwitchboardMetrics.maxDynamicTenantLabels + 2)  // + payments + _other
    #expect(tenants.contains("payments") && tenants.contains("_other") && tenants.contains("invented-0"))
    #expect(!tenants.contains("invented-\(SwitchboardMetrics.maxDynamicTenantLabels)"))
    let other = ["route": "default", "provider": "fast", "model": "m", "tenant": "_other"]
    #expect(p.value("switchboard_input_tokens_total", other) == Double(500 - SwitchboardMetrics.maxDynamicTenantLabels) * 1000)
    #expect(p.value("switchboard_input_tokens_total", ["route": "default", "provider": "fast", "model": "m", "tenant": "invented-3"]) == 2000)
    // Every counted token is somewhere: nothing is dropped by folding.
    let input = p.samples.filter { $0.name == "switchboard_input_tokens_total" && $0.labels["provider"] == "fast" }.map(\.value)
    #expect(input.reduce(0, +) == 502 * 1000)
  }

  /// Route names a client controls (an explicit `provider/model`, a made-up route)
  /// and models outside the config never become label values.
  @Test func clientChosenRoutesAndModelsDoNotBecomeLabels() throws {
    let m = SwitchboardMetrics()
    m.setLabelDomain(Self.domain)
    for i in 0..<300 {
      var e = try Self.failedOverStream(route: "fast/invented-\(i)")
      e.attempts[1].model = "invented-\(i)"
      m.record(e, overhead: .zero)
      var u = try Self.failedOverStream(route: "nope-\(i)")
      u.reason = .unknownRoute
      u.attempts = []
      m.record(u, overhead: .zero)
    }
    let text = m.render(circuits: [], budgets: [])
    #expect(!text.contains("invented-") && !text.contains("nope-"))
    let p = try parseExposition(text)
    #expect(p.value("switchboard_requests_total", ["route": "_direct", "outcome": "success"]) == 300)
    #expect(p.value("switchboard_requests_total", ["route": "_unknown", "outcome": "success"]) == 300)
    #expect(p.value("switchboard_request_duration_seconds_count", ["route": "_direct"]) == 300)
    #expect(p.value("switchboard_output_tokens_total", ["route": "_direct", "provider": "fast", "model": "_other", "tenant": "payments"]) == 15_000)
    let series = Set(p.samples.filter { $0.name.hasPrefix("switchboard_time_to_first_token_seconds_count") }.map(\.labels))
    #expect(series.count == 2)
  }

  /// Overage scopes name sub-tenants a client may choose (`allow_asserted`): past
  /// `maxScopeLabels` they fold into `_other` like soft-cap scopes, and nothing is lost.
  @Test func overageScopesAreBounded() throws {
    let m = SwitchboardMetrics()
    for i in 0..<(SwitchboardMetrics.maxScopeLabels + 100) {
      var e = try Self.failedOverStream()
      e.attempts[1].overageMicroUSD = 10
      e.attempts[1].chargedScopes = ["tenant:acme/sub-\(i)@daily"]
      m.record(e, overhead: .zero)
    }
    let p = try parseExposition(m.render(circuits: [], budgets: []))
    let series = p.samples.filter { $0.name == "switchboard_budget_overage_total" }
    #expect(series.count == SwitchboardMetrics.maxScopeLabels + 1)
    #expect(p.value("switchboard_budget_overage_total", ["scope": "_other"]) == 100)
    #expect(series.map(\.value).reduce(0, +) == Double(SwitchboardMetrics.maxScopeLabels + 100))
  }

  @Test func buildInfoNamesTheVersion() throws {
    let p = try parseExposition(SwitchboardMetrics(version: "9.8.7").render(circuits: [], budgets: []))
    let info = p.samples.filter { $0.name == "switchboard_build_info" }
    #expect(info.count == 1)
    #expect(info.first?.value == 1)
    #expect(info.first?.labels["version"] == "9.8.7")
    #expect(info.first?.labelOrder == ["version", "swift_version", "os"])
  }

  @Test func httpInFlightGoesUpAndDown() throws {
    let m = SwitchboardMetrics()
    m.httpInFlight(1); m.httpInFlight(1); m.httpInFlight(-1)
    #expect(try parseExposition(m.render(circuits: [], budgets: [])).value("switchboard_http_in_flight") == 1)
  }

  /// Fields are counted from the last `)`: a command name with spaces and parentheses
  /// does not shift them.
  @Test func procStatIsParsedPastAWeirdCommandName() throws {
    var fields = (3...52).map { String($0 * 10) }
    fields[14 - 3] = "250"      // utime, ticks
    fields[15 - 3] = "50"       // stime
    fields[22 - 3] = "1000"     // starttime, ticks after boot
    fields[23 - 3] = "123456789"  // vsize, bytes
    fields[24 - 3] = "2048"     // rss, pages
    let stat = "4242 (switch) (board d) " + fields.joined(separator: " ") + "\n"
    let s = try #require(ProcessStatistics.parse(stat: stat, bootTime: 1_700_000_000, ticksPerSecond: 100, pageSize: 4096))
    #expect(s.cpuSeconds == 3)
    #expect(s.startTimeSeconds == 1_700_000_010)
    #expect(s.virtualMemoryBytes == 123_456_789)
    #expect(s.residentMemoryBytes == 2048 * 4096)
    #expect(ProcessStatistics.parse(stat: "garbage", bootTime: 0, ticksPerSecond: 100, pageSize: 4096) == nil)
    #expect(ProcessStatistics.bootTime(procStat: "cpu 1 2 3\nbtime 1764000000\nprocesses 9\n") == 1_764_000_000)
    #expect(ProcessStatistics.maxOpenFiles(limits: "Limit  Soft Limit  Hard Limit  Units\nMax open files            1024                 524288               files\n") == 1024)
  }

  #if os(Linux)
  /// This test process's own figures: plausible, and the fd count follows a file opened.
  @Test func processStatisticsOfThisProcess() throws {
    let before = try #require(ProcessStatistics.current())
    #expect(before.residentMemoryBytes > 1_048_576)
    #expect(before.virtualMemoryBytes >= before.residentMemoryBytes)
    #expect(before.maxFDs >= before.openFDs && before.openFDs >= 3)
    let now = Date().timeIntervalSince1970
    #expect(before.startTimeSeconds <= now + 1 && before.startTimeSeconds > now - 86_400 * 30)
    let handles = try (0..<200).map { _ in try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/self/stat")) }
    let after = try #require(ProcessStatistics.current())
    #expect(after.openFDs >= before.openFDs + 100)  // other tests open and close files at the same time
    withExtendedLifetime(handles) {}
    let p = try parseExposition(SwitchboardMetrics().render(circuits: [], budgets: []))
    #expect((p.value("process_resident_memory_bytes") ?? 0) > 0)
    #expect(p.types["process_cpu_seconds_total"] == "counter")
  }
  #endif
}
