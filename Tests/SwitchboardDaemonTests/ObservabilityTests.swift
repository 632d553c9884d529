import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization
import SwitchboardCore
import SwitchboardDaemon
import Testing

// MARK: - Fixtures

/// A decision event built through its Codable form (its memberwise init is internal to SwitchboardCore).
private func makeEvent(route: String = "payments", outcome: String = "success", reason: String? = nil,
                       attempts: [String], warnings: [String] = []) throws -> DecisionEvent {
  let json = """
    {"requestID":"req-1","timestampMs":1767225600000,"tenant":"acme","route":\(jsonString(route)),"strategy":"cheapest",
     "stream":false,"outcome":"\(outcome)",\(reason.map { "\"reason\":\"\($0)\"," } ?? "")"message":"",
     "candidates":[],"attempts":[\(attempts.joined(separator: ","))],"totalSpendUSD":0.01,"budgetScopes":[],
     "usage":{"inputTokens":10,"outputTokens":5,"cachedInputTokens":0,"cacheWriteTokens":0},
     "totalLatencyMs":1500,"warnings":[\(warnings.map(jsonString).joined(separator: ","))]}
    """
  return try JSONDecoder().decode(DecisionEvent.self, from: Data(json.utf8))
}

private func jsonString(_ s: String) -> String {
  String(decoding: try! JSONEncoder().encode(s), as: UTF8.self)
}

private func attempt(_ index: Int, _ provider: String, _ model: String, outcome: String, latencyMs: Double,
                     failureClass: String? = nil, reason: String? = nil) -> String {
  """
  {"index":\(index),"provider":"\(provider)","model":"\(model)","keySource":"env","keyFingerprint":"fp\(index)",
   "startedOffsetMs":0,"latencyMs":\(latencyMs),"outcome":"\(outcome)",
   \(failureClass.map { "\"failureClass\":\"\($0)\"," } ?? "")\(reason.map { "\"reason\":\"\($0)\"," } ?? "")
   "usage":{"inputTokens":0,"outputTokens":0,"cachedInputTokens":0,"cacheWriteTokens":0},
   "estimatedInputTokens":10,"message":"","sameCandidateRetry":false,"probe":false}
  """
}

/// The failed-over request of issue 5: a timeout on openai, a skipped candidate, then success on anthropic.
private func failedOverEvent() throws -> DecisionEvent {
  try makeEvent(
    attempts: [
      attempt(0, "openai", "gpt-4o", outcome: "failed", latencyMs: 1200, failureClass: "transient", reason: "timeout"),
      attempt(1, "mistral", "large", outcome: "skipped", latencyMs: 0, reason: "circuit_open"),
      attempt(2, "anthropic", "claude-haiku", outcome: "success", latencyMs: 300),
    ],
    warnings: ["soft_budget_exceeded:tenant:acme@payments", "price_unknown:x"])
}

private func circuits() -> [CircuitSnapshot] {
  let board = HealthBoard()
  let t0 = Instant(nanoseconds: 0)
  let open = CircuitKey(provider: "openai", model: "gpt-4o", keyFingerprint: "fp0")
  let halfOpen = CircuitKey(provider: "mistral", model: "large", keyFingerprint: "fp1")
  let closed = CircuitKey(provider: "anthropic", model: "claude-haiku", keyFingerprint: "fp2")
  board.trip(halfOpen, now: t0)
  _ = board.admit(halfOpen, now: t0.advanced(by: .seconds(120)))  // cooldown over: becomes the probe
  board.trip(open, now: t0.advanced(by: .seconds(120)))
  board.recordFailure(closed, class: .transient, retryAfter: nil, now: t0.advanced(by: .seconds(120)))
  return board.snapshot(now: t0.advanced(by: .seconds(120)))
}

private func budgets() -> [BudgetSnapshot] {
  let ledger = InMemoryBudgetLedger()
  let capped = BudgetScope(key: "tenant:acme@payments", limit: BudgetLimit(softUSD: 0.5, hardUSD: 1.0))
  let uncapped = BudgetScope(key: "route:payments", limit: BudgetLimit())
  if case .reserved(let r, _) = ledger.reserveNow(MicroUSD(usd: 0.4), scopes: [capped, uncapped], requestID: "r", wallMillis: 1_767_225_600_000) {
    _ = ledger.settleNow(r, actual: MicroUSD(usd: 0.25), wallMillis: 1_767_225_600_000)
  }
  return ledger.snapshotNow(wallMillis: 1_767_225_600_000)
}

// MARK: - A strict parser of the Prometheus text format 0.0.4

struct Sample: Equatable {
  var name: String
  var labels: [String: String]
  var labelOrder: [String]
  var value: Double
}

struct ParsedExposition {
  var types: [String: String] = [:]
  var helps: [String: String] = [:]
  var samples: [Sample] = []

  func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
    samples.first { $0.name == name && $0.labels == labels }?.value
  }
}

struct ExpositionError: Error, CustomStringConvertible {
  var description: String
  init(_ line: Int, _ message: String) { description = "line \(line): \(message)" }
}

private func isNameStart(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c == "_" || c == ":") }
private func isNameChar(_ c: Character) -> Bool { isNameStart(c) || (c.isASCII && c.isNumber) }

func parseExposition(_ text: String) throws -> ParsedExposition {
  var out = ParsedExposition()
  guard text.hasSuffix("\n") else { throw ExpositionError(0, "must end with a newline") }
  var current: String?  // the family whose samples may follow
  var seen: Set<String> = []
  for (i, raw) in text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
    let line = String(raw), n = i + 1
    if line.hasPrefix("#") {
      let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
      guard parts.count >= 3, parts[0] == "#", parts[1] == "HELP" || parts[1] == "TYPE" else {
        throw ExpositionError(n, "unexpected comment '\(line)'")
      }
      let name = parts[2]
      guard let f = name.first, isNameStart(f), name.allSatisfy(isNameChar) else { throw ExpositionError(n, "bad name") }
      if parts[1] == "HELP" {
        guard !seen.contains(name) else { throw ExpositionError(n, "family \(name) declared twice") }
        seen.insert(name)
        out.helps[name] = parts.count > 3 ? parts[3] : ""
        current = nil
      } else {
        guard out.helps[name] != nil, out.types[name] == nil else { throw ExpositionError(n, "TYPE of \(name) without HELP before it") }
        guard parts.count == 4, ["counter", "gauge", "histogram"].contains(parts[3]) else {
          throw ExpositionError(n, "bad TYPE '\(line)'")
        }
        out.types[name] = parts[3]
        current = name
      }
      continue
    }
    guard !line.isEmpty else { throw ExpositionError(n, "empty line") }
    // name
    var idx = line.startIndex
    while idx < line.endIndex, isNameChar(line[idx]) { idx = line.index(after: idx) }
    let name = String(line[..<idx])
    guard let f = name.first, isNameStart(f) else { throw ExpositionError(n, "bad metric name") }
    guard let family = current else { throw ExpositionError(n, "sample \(name) before HELP/TYPE") }
    let type = out.types[family]!
    let allowed = type == "histogram" ? [family + "_bucket", family + "_sum", family + "_count"] : [family]
    guard allowed.contains(name) else { throw ExpositionError(n, "sample \(name) outside its family (\(family))") }
    // labels
    var labels: [String: String] = [:], order: [String] = []
    if idx < line.endIndex, line[idx] == "{" {
      idx = line.index(after: idx)
      while true {
        let ls = idx
        while idx < line.endIndex, isNameChar(line[idx]), line[idx] != ":" { idx = line.index(after: idx) }
        let lname = String(line[ls..<idx])
        guard !lname.isEmpty, !(lname.first!.isNumber) else { throw ExpositionError(n, "bad label name") }
        guard line[idx...].hasPrefix("=\"") else { throw ExpositionError(n, "expected =\" after \(lname)") }
        idx = line.index(idx, offsetBy: 2)
        var value = ""
        while true {
          guard idx < line.endIndex else { throw ExpositionError(n, "unterminated label value") }
          let c = line[idx]
          if c == "\"" { idx = line.index(after: idx); break }
          if c == "\\" {
            idx = line.index(after: idx)
            guard idx < line.endIndex else { throw ExpositionError(n, "dangling escape") }
            switch line[idx] {
            case "\\": value.append("\\")
            case "\"": value.append("\"")
            case "n": value.append("\n")
            default: throw ExpositionError(n, "bad escape \\\(line[idx])")
            }
          } else {
            value.append(c)
          }
          idx = line.index(after: idx)
        }
        guard labels[lname] == nil else { throw ExpositionError(n, "duplicate label \(lname)") }
        labels[lname] = value; order.append(lname)
        guard idx < line.endIndex else { throw ExpositionError(n, "unterminated labels") }
        if line[idx] == "," { idx = line.index(after: idx); continue }
        if line[idx] == "}" { idx = line.index(after: idx); break }
        throw ExpositionError(n, "expected , or }")
      }
    }
    guard idx < line.endIndex, line[idx] == " " else { throw ExpositionError(n, "expected one space before the value") }
    let valueText = String(line[line.index(after: idx)...])
    let value: Double
    switch valueText {
    case "+Inf": value = .infinity
    case "-Inf": value = -.infinity
    case "NaN": value = .nan
    default:
      guard let v = Double(valueText), !valueText.contains(" ") else { throw ExpositionError(n, "bad value '\(valueText)'") }
      value = v
    }
    if type == "counter" || name.hasSuffix("_bucket") || name.hasSuffix("_count") {
      guard value >= 0 else { throw ExpositionError(n, "negative counter") }
    }
    out.samples.append(Sample(name: name, labels: labels, labelOrder: order, value: value))
  }
  // Histograms: cumulative buckets ending in +Inf equal to _count, and a _sum.
  for (family, type) in out.types where type == "histogram" {
    var series: [[String: String]: [(le: String, value: Double)]] = [:]
    var order: [[String: String]] = []
    for s in out.samples where s.name == family + "_bucket" {
      guard let le = s.labels["le"] else { throw ExpositionError(0, "\(family) bucket without le") }
      var key = s.labels; key["le"] = nil
      if series[key] == nil { order.append(key) }
      series[key, default: []].append((le, s.value))
    }
    for key in order {
      let buckets = series[key]!
      guard buckets.last?.le == "+Inf" else { throw ExpositionError(0, "\(family)\(key) does not end in +Inf") }
      var previousBound = -Double.infinity, previous = 0.0
      for b in buckets {
        let bound = b.le == "+Inf" ? Double.infinity : Double(b.le)!
        guard bound > previousBound else { throw ExpositionError(0, "\(family) bounds not increasing") }
        guard b.value >= previous else { throw ExpositionError(0, "\(family) buckets not cumulative") }
        previousBound = bound; previous = b.value
      }
      guard let count = out.value(family + "_count", key), count == buckets.last!.value else {
        throw ExpositionError(0, "\(family)\(key): +Inf bucket differs from _count")
      }
      guard out.value(family + "_sum", key) != nil else { throw ExpositionError(0, "\(family)\(key) without _sum") }
    }
  }
  return out
}

/// `promtool` from PATH (or the Debian package's path), if installed.
private func promtoolPath() -> String? {
  let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/bin"]
  return dirs.map { $0 + "/promtool" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// Runs `promtool check metrics` on `text`; returns its exit status and output.
private func promtoolCheck(_ path: String, _ text: String) throws -> (Int32, String) {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: path)
  p.arguments = ["check", "metrics"]
  let input = Pipe(), output = Pipe()
  p.standardInput = input; p.standardOutput = output; p.standardError = output
  try p.run()
  input.fileHandleForWriting.write(Data(text.utf8))
  try input.fileHandleForWriting.close()
  let data = output.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

// MARK: - Metrics

@Suite struct MetricsTests {
  static let families: [String: String] = [
    "switchboard_requests_total": "counter", "switchboard_attempts_total": "counter",
    "switchboard_circuit_state": "gauge", "switchboard_budget_spent_usd": "gauge",
    "switchboard_budget_remaining_usd": "gauge", "switchboard_budget_soft_exceeded_total": "counter",
    "switchboard_upstream_latency_seconds": "histogram", "switchboard_overhead_seconds": "histogram",
    "switchboard_in_flight": "gauge", "switchboard_frames_rejected_total": "counter",
    "switchboard_audit_write_failures_total": "counter", "switchboard_config_reloads_total": "counter",
    "switchboard_budget_overage_total": "counter", "switchboard_budget_overage_usd_total": "counter",
    "switchboard_request_duration_seconds": "histogram", "switchboard_input_tokens_total": "counter",
    "switchboard_output_tokens_total": "counter", "switchboard_cached_input_tokens_total": "counter",
    "switchboard_spend_usd_total": "counter", "switchboard_time_to_first_token_seconds": "histogram",
    "switchboard_http_in_flight": "gauge", "switchboard_build_info": "gauge",
  ].merging(ProcessStatistics.current() == nil ? [:] : [
    "process_resident_memory_bytes": "gauge", "process_virtual_memory_bytes": "gauge", "process_open_fds": "gauge",
    "process_max_fds": "gauge", "process_cpu_seconds_total": "counter", "process_start_time_seconds": "gauge",
  ]) { $1 }

  @Test func anOverageIsCountedPerScope() throws {
    let metrics = SwitchboardMetrics()
    var e = try failedOverEvent()
    e.attempts[e.attempts.count - 1].overageMicroUSD = 604_600
    e.attempts[e.attempts.count - 1].chargedScopes = ["route:r@daily", "daemon@monthly"]
    metrics.record(e, overhead: .zero)
    metrics.record(e, overhead: .zero)
    let p = try parseExposition(metrics.render(circuits: [], budgets: []))
    #expect(p.value("switchboard_budget_overage_total", ["scope": "route:r@daily"]) == 2)
    #expect(p.value("switchboard_budget_overage_usd_total", ["scope": "daemon@monthly"]) == 1.2092)
  }

  @Test func emptyRegistryRendersEveryFamily() throws {
    let text = SwitchboardMetrics().render(circuits: [], budgets: [])
    let parsed = try parseExposition(text)
    #expect(parsed.types == Self.families)
    #expect(parsed.value("switchboard_overhead_seconds_count") == 0)
    #expect(parsed.value("switchboard_in_flight") == 0)
    #expect(parsed.value("switchboard_audit_write_failures_total") == 0)
  }

  @Test func failedOverRequestIsCounted() throws {
    let metrics = SwitchboardMetrics()
    metrics.record(try failedOverEvent(), overhead: .microseconds(200))
    metrics.setInFlight(3)
    metrics.frameRejected(reason: "too_large")
    metrics.frameRejected(reason: "too_large")
    metrics.auditWriteFailed()
    let p = try parseExposition(metrics.render(circuits: circuits(), budgets: budgets()))
    #expect(p.types == Self.families)

    #expect(p.value("switchboard_requests_total", ["route": "payments", "outcome": "success"]) == 1)
    let attempts = p.samples.filter { $0.name == "switchboard_attempts_total" }
    #expect(attempts.count == 3)
    #expect(p.value("switchboard_attempts_total", ["provider": "openai", "model": "gpt-4o", "outcome": "failed",
                                                   "failure_class": "transient", "reason": "timeout"]) == 1)
    #expect(p.value("switchboard_attempts_total", ["provider": "mistral", "model": "large", "outcome": "skipped",
                                                   "failure_class": "", "reason": "circuit_open"]) == 1)
    #expect(p.value("switchboard_attempts_total", ["provider": "anthropic", "model": "claude-haiku", "outcome": "success",
                                                   "failure_class": "", "reason": ""]) == 1)
    #expect(attempts.allSatisfy { $0.labelOrder == ["provider", "model", "outcome", "failure_class", "reason"] })

    // Upstream latency of sent attempts only: 1.2 s on openai, 0.3 s on anthropic, none for the skipped one.
    let openai = ["provider": "openai", "model": "gpt-4o"]
    #expect(p.value("switchboard_upstream_latency_seconds_count", openai) == 1)
    #expect(abs(p.value("switchboard_upstream_latency_seconds_sum", openai)! - 1.2) < 1e-9)
    #expect(p.value("switchboard_upstream_latency_seconds_bucket", openai.merging(["le": "1"]) { $1 }) == 0)
    #expect(p.value("switchboard_upstream_latency_seconds_bucket", openai.merging(["le": "2.5"]) { $1 }) == 1)
    #expect(p.value("switchboard_upstream_latency_seconds_bucket", ["provider": "anthropic", "model": "claude-haiku", "le": "0.5"]) == 1)
    #expect(p.value("switchboard_upstream_latency_seconds_count", ["provider": "mistral", "model": "large"]) == nil)
    let les = p.samples.filter { $0.name == "switchboard_upstream_latency_seconds_bucket" && $0.labels["provider"] == "openai" }
      .map { $0.labels["le"]! }
    #expect(les == ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "+Inf"])

    // Overhead: 200 µs lands in the 0.00025 bucket.
    #expect(p.value("switchboard_overhead_seconds_bucket", ["le": "0.0001"]) == 0)
    #expect(p.value("switchboard_overhead_seconds_bucket", ["le": "0.00025"]) == 1)
    #expect(p.value("switchboard_overhead_seconds_count") == 1)

    #expect(p.value("switchboard_budget_soft_exceeded_total", ["scope": "tenant:acme@payments"]) == 1)
    #expect(p.samples.filter { $0.name == "switchboard_budget_soft_exceeded_total" }.count == 1)
    #expect(p.value("switchboard_budget_spent_usd", ["scope": "tenant:acme@payments", "window": "daily"]) == 0.25)
    #expect(p.value("switchboard_budget_spent_usd", ["scope": "route:payments", "window": "daily"]) == 0.25)
    #expect(p.value("switchboard_budget_remaining_usd", ["scope": "tenant:acme@payments", "window": "daily"]) == 0.75)
    #expect(p.value("switchboard_budget_remaining_usd", ["scope": "route:payments", "window": "daily"]) == nil)

    #expect(p.value("switchboard_circuit_state", ["provider": "openai", "model": "gpt-4o", "key": "fp0"]) == 2)
    #expect(p.value("switchboard_circuit_state", ["provider": "mistral", "model": "large", "key": "fp1"]) == 1)
    #expect(p.value("switchboard_circuit_state", ["provider": "anthropic", "model": "claude-haiku", "key": "fp2"]) == 0)

    #expect(p.value("switchboard_in_flight") == 3)
    #expect(p.value("switchboard_frames_rejected_total", ["reason": "too_large"]) == 2)
    #expect(p.value("switchboard_audit_write_failures_total") == 1)
  }

  @Test func labelValuesAreEscapedAndUnknownRoutesCollapse() throws {
    let metrics = SwitchboardMetrics()
    let weird = "we\"ird\\route\nx"
    metrics.record(try makeEvent(route: weird, attempts: []), overhead: .zero)
    metrics.record(try makeEvent(route: "made-up-by-client", outcome: "failed", reason: "unknown_route", attempts: []),
                   overhead: .zero)
    let text = metrics.render(circuits: [], budgets: [])
    #expect(text.contains(#"route="we\"ird\\route\nx""#))
    let p = try parseExposition(text)
    #expect(p.value("switchboard_requests_total", ["route": weird, "outcome": "success"]) == 1)
    #expect(p.value("switchboard_requests_total", ["route": "_unknown", "outcome": "failed"]) == 1)
    #expect(!text.contains("made-up-by-client"))
  }

  @Test func concurrentRecordsAreExact() async throws {
    let metrics = SwitchboardMetrics()
    let event = try failedOverEvent()
    await withTaskGroup(of: Void.self) { group in
      for _ in 0..<8 {
        group.addTask { for _ in 0..<500 { metrics.record(event, overhead: .microseconds(30)) } }
      }
    }
    let p = try parseExposition(metrics.render(circuits: [], budgets: []))
    #expect(p.value("switchboard_requests_total", ["route": "payments", "outcome": "success"]) == 4000)
    #expect(p.value("switchboard_overhead_seconds_bucket", ["le": "5e-05"]) == 4000)
    #expect(p.value("switchboard_upstream_latency_seconds_count", ["provider": "openai", "model": "gpt-4o"]) == 4000)
  }

  @Test(.enabled(if: promtoolPath() != nil, "promtool is not installed"))
  func promtoolAcceptsTheExposition() throws {
    let metrics = SwitchboardMetrics()
    metrics.record(try failedOverEvent(), overhead: .microseconds(200))
    metrics.record(try makeEvent(route: "we\"ird\\route\nx", attempts: []), overhead: .milliseconds(2))
    metrics.frameRejected(reason: "bad_length")
    for text in [SwitchboardMetrics().render(circuits: [], budgets: []),
                 metrics.render(circuits: circuits(), budgets: budgets())] {
      let (status, output) = try promtoolCheck(promtoolPath()!, text)
      #expect(status == 0, "promtool check metrics: \(output)")
    }
  }
}

// MARK: - Metrics server

/// Sends raw bytes to 127.0.0.1:`port` and reads until the server closes the connection.
private func rawHTTP(port: Int, _ request: String) async throws -> String {
  let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
    .connect(host: "127.0.0.1", port: port) { channel in
      channel.eventLoop.makeCompletedFuture {
        try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
      }
    }
  return try await channel.executeThenClose { inbound, outbound in
    try await outbound.write(ByteBuffer(string: request))
    var response = ""
    for try await chunk in inbound { response += String(buffer: chunk) }
    return response
  }
}

private func withServer(_ render: @escaping @Sendable () -> String,
                        _ body: (MetricsServer, Int) async throws -> Void) async throws {
  let server = MetricsServer(host: "127.0.0.1", port: 0, render: render, logger: Logger(label: "test.metrics"))
  try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await server.run() }
    let port = try await server.waitUntilBound()
    #expect(server.boundPort == port)
    try await body(server, port)
    server.shutdown()
    try await group.waitForAll()
  }
  #expect(server.boundPort == nil)
}

@Suite struct MetricsServerTests {
  @Test func servesMetricsOverLoopbackHTTP() async throws {
    let metrics = SwitchboardMetrics()
    metrics.record(try failedOverEvent(), overhead: .microseconds(200))
    try await withServer({ metrics.render(circuits: [], budgets: [], process: nil) }) { _, port in
      let response = try await rawHTTP(port: port, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
      let parts = response.components(separatedBy: "\r\n\r\n")
      #expect(parts[0].hasPrefix("HTTP/1.1 200 OK"))
      #expect(parts[0].lowercased().contains("content-type: text/plain; version=0.0.4"))
      let body = parts.dropFirst().joined(separator: "\r\n\r\n")
      #expect(body == metrics.render(circuits: [], budgets: [], process: nil))
      let parsed = try parseExposition(body)
      #expect(parsed.value("switchboard_requests_total", ["route": "payments", "outcome": "success"]) == 1)
    }
  }

  @Test func healthzKeepAliveAndNotFound() async throws {
    try await withServer({ "x 1\n" }) { _, port in
      // Two pipelined requests on one keep-alive connection, the second closing it.
      let response = try await rawHTTP(
        port: port,
        "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
      #expect(response.hasPrefix("HTTP/1.1 200 OK"))
      #expect(response.contains("\r\n\r\nok"))
      #expect(response.contains("HTTP/1.1 404 Not Found"))
      let post = try await rawHTTP(port: port, "POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
      #expect(post.hasPrefix("HTTP/1.1 404"))
    }
  }

  @Test func shutdownClosesIdleKeepAliveConnections() async throws {
    let server = MetricsServer(host: "127.0.0.1", port: 0, render: { "" }, logger: Logger(label: "test.metrics"))
    let run = Task { try await server.run() }
    let port = try await server.waitUntilBound()
    // An idle client holding a connection open must not keep run() alive.
    let idle = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .connect(host: "127.0.0.1", port: port) { channel in
        channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
      }
    // One request answered first, so the server has certainly accepted the connection
    // (a fixed 50 ms sleep could shut down before the accept on a loaded machine: the
    // client then saw a reset, not the close under test); then it sits idle.
    let (answer, after) = try await idle.executeThenClose { inbound, outbound in
      try await outbound.write(ByteBuffer(string: "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"))
      var chunks = inbound.makeAsyncIterator()
      var text = ""
      while !text.contains("\r\n\r\nok"), let chunk = try await chunks.next() { text += String(buffer: chunk) }
      server.shutdown()
      try await run.value
      // The server closed the idle connection: the client reads end-of-stream.
      var bytes = 0
      while let chunk = try await chunks.next() { bytes += chunk.readableBytes }
      return (text, bytes)
    }
    #expect(answer.hasPrefix("HTTP/1.1 200 OK"), "\(answer)")
    #expect(after == 0)
  }

  @Test func cancellationStopsTheServer() async throws {
    let server = MetricsServer(host: "::1", port: 0, render: { "" }, logger: Logger(label: "test.metrics"))
    let run = Task { try await server.run() }
    do {
      _ = try await server.waitUntilBound()
    } catch {
      // No IPv6 loopback in this environment: nothing to test.
      run.cancel(); _ = try? await run.value
      return
    }
    run.cancel()
    try await run.value
    #expect(server.boundPort == nil)
  }

  @Test(arguments: ["0.0.0.0", "10.1.2.3", "::", "example.com"])
  func refusesNonLoopbackHosts(host: String) async throws {
    let server = MetricsServer(host: host, port: 0, render: { "" }, logger: Logger(label: "test.metrics"))
    let error = await #expect(throws: MetricsServerError.self) { try await server.run() }
    #expect(error?.code == .nonLoopbackHost || error?.code == .invalidHost)
    #expect(error?.description.contains(host) == true)
    await #expect(throws: MetricsServerError.self) { _ = try await server.waitUntilBound() }
  }
}

// MARK: - Log handlers

private final class LineSink: Sendable {
  private let lines = Mutex<[String]>([])
  var all: [String] { lines.withLock { $0 } }
  var sink: @Sendable (String) -> Void { { line in self.lines.withLock { $0.append(line) } } }
}

/// Parses one logfmt line into ordered key/value pairs (quoted values unescaped).
func parseLogfmt(_ line: String) throws -> [(key: String, value: String)] {
  struct Bad: Error { var at: String }
  var pairs: [(String, String)] = []
  var i = line.startIndex
  while i < line.endIndex {
    var key = ""
    while i < line.endIndex, line[i] != "=" {
      guard line[i] != " ", line[i] != "\"" else { throw Bad(at: String(line[i...])) }
      key.append(line[i]); i = line.index(after: i)
    }
    guard i < line.endIndex, !key.isEmpty else { throw Bad(at: key) }
    i = line.index(after: i)
    var value = ""
    if i < line.endIndex, line[i] == "\"" {
      i = line.index(after: i)
      while true {
        guard i < line.endIndex else { throw Bad(at: "unterminated \(key)") }
        let c = line[i]
        if c == "\"" { i = line.index(after: i); break }
        if c == "\\" {
          i = line.index(after: i)
          switch line[i] {
          case "\"": value.append("\"")
          case "\\": value.append("\\")
          case "n": value.append("\n")
          case "r": value.append("\r")
          case "t": value.append("\t")
          default: throw Bad(at: "escape in \(key)")
          }
        } else {
          guard !c.isNewline else { throw Bad(at: "raw newline") }
          value.append(c)
        }
        i = line.index(after: i)
      }
    } else {
      while i < line.endIndex, line[i] != " " {
        guard line[i] != "\"", line[i] != "=" else { throw Bad(at: "unquoted \(key)") }
        value.append(line[i]); i = line.index(after: i)
      }
    }
    pairs.append((key, value))
    if i < line.endIndex {
      guard line[i] == " " else { throw Bad(at: String(line[i...])) }
      i = line.index(after: i)
    }
  }
  return pairs
}

private let secretMetadata: Logger.Metadata = [
  "request.id": "abc",
  "provider.name": "openai",
  "api_key": "sk-live-123",
  "key.source": "env",
  "key.fingerprint": "fp-9f8e",
  "provider": ["token": "tok-456", "region": "eu"],
  "http": ["headers": ["Authorization": "Bearer xyz-789", "accept": "json"]],
  "client_secret": .stringConvertible(42),
  "usage": ["input_tokens": .stringConvertible(12)],
  "keys": .array(["sk-a", "sk-b"]),
]
private let secrets = ["sk-live-123", "tok-456", "xyz-789", "sk-a", "sk-b"]

@Suite struct LogHandlerTests {
  @Test func logfmtLineIsParseableAndRedacted() throws {
    let lines = LineSink()
    var logger = Logger(label: "switchboard") { label in
      SwitchboardLogging.makeHandler(label: label, format: .logfmt, level: .info, sink: lines.sink)
    }
    logger[metadataKey: "daemon.pid"] = "77"
    let message = "served \"request\" a=b\nsecond line"
    logger.info("\(message)", metadata: secretMetadata)
    logger.debug("dropped below level")
    #expect(lines.all.count == 1)
    let line = try #require(lines.all.first)
    #expect(!line.contains("\n"))
    for s in secrets { #expect(!line.contains(s), "leaked \(s)") }

    let pairs = try parseLogfmt(line)
    #expect(pairs.prefix(4).map(\.key) == ["ts", "level", "msg", "label"])
    let kv = Dictionary(pairs, uniquingKeysWith: { $1 })
    #expect(kv["ts"]!.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil)
    #expect(kv["level"] == "info")
    #expect(kv["msg"] == message)
    #expect(kv["label"] == "switchboard")
    #expect(kv["request.id"] == "abc")
    #expect(kv["provider.name"] == "openai")
    #expect(kv["daemon.pid"] == "77")
    #expect(kv["key.source"] == "env")
    #expect(kv["key.fingerprint"] == "fp-9f8e")
    #expect(kv["provider.region"] == "eu")
    #expect(kv["http.headers.accept"] == "json")
    #expect(kv["usage.input_tokens"] == "12")
    for k in ["api_key", "provider.token", "http.headers.Authorization", "client_secret", "keys"] {
      #expect(kv[k] == "[redacted]", "\(k)")
    }
  }

  @Test func jsonLineIsParseableFlattenedAndRedacted() throws {
    let lines = LineSink()
    var logger = Logger(label: "switchboard.json") { label in
      SwitchboardLogging.makeHandler(label: label, format: .json, level: .debug, sink: lines.sink)
    }
    logger.logLevel = .debug
    logger.debug("tab\tquote\" backslash\\ nl\n ctl\u{01}", metadata: secretMetadata.merging(["level": "shadowed"]) { $1 })
    logger.trace("dropped")
    #expect(lines.all.count == 1)
    let line = try #require(lines.all.first)
    #expect(!line.contains("\n"))
    for s in secrets { #expect(!line.contains(s), "leaked \(s)") }
    let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    #expect(object["level"] as? String == "debug")
    #expect(object["msg"] as? String == "tab\tquote\" backslash\\ nl\n ctl\u{01}")
    #expect(object["label"] as? String == "switchboard.json")
    #expect((object["ts"] as? String)?.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil)
    #expect(object["metadata.level"] as? String == "shadowed")
    #expect(object["request.id"] as? String == "abc")
    #expect(object["provider.region"] as? String == "eu")
    #expect(object["http.headers.accept"] as? String == "json")
    #expect(object["usage.input_tokens"] as? Int == 12)
    #expect(object["key.source"] as? String == "env")
    #expect(object["key.fingerprint"] as? String == "fp-9f8e")
    for k in ["api_key", "provider.token", "http.headers.Authorization", "client_secret", "keys"] {
      #expect(object[k] as? String == "[redacted]", "\(k)")
    }
    #expect(object["provider"] == nil)
  }

  @Test(arguments: LogFormat.allCases)
  func metadataProviderIsHonoured(format: LogFormat) throws {
    let lines = LineSink()
    let provider = Logger.MetadataProvider { ["trace.id": "t-1", "request.id": "from-provider"] }
    let logger = Logger(label: "switchboard") { label in
      SwitchboardLogging.makeHandler(label: label, format: format, level: .warning, sink: lines.sink,
                                     metadataProvider: provider)
    }
    logger.info("below warning")
    logger.warning("kept", metadata: ["request.id": "explicit"])
    #expect(lines.all.count == 1)
    let line = try #require(lines.all.first)
    switch format {
    case .logfmt:
      let kv = Dictionary(try parseLogfmt(line), uniquingKeysWith: { $1 })
      #expect(kv["trace.id"] == "t-1")
      #expect(kv["request.id"] == "explicit")
      #expect(kv["level"] == "warning")
    case .json:
      let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
      #expect(object["trace.id"] as? String == "t-1")
      #expect(object["request.id"] as? String == "explicit")
      #expect(object["level"] as? String == "warning")
    }
  }

  @Test func logFormatParsesFromConfigText() {
    #expect(LogFormat(rawValue: "logfmt") == .logfmt)
    #expect(LogFormat(rawValue: "json") == .json)
    #expect(LogFormat(rawValue: "xml") == nil)
  }
}
