import ArgumentParser
import Foundation
import SwitchboardAudit
import SwitchboardClient
import SwitchboardCore
import SwitchboardDaemon
import SwitchboardWire

/// `switchboard demo`: the embedded default, end to end through the real socket.
struct Demo: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Start a daemon in process with simulated providers (no keys) and run a golden path with a failover.")
  @Option(help: "Socket path for the demo daemon (default: a temporary one).") var socket: String?
  @Option(help: "Run this config file instead of the built-in one (it needs a payments-assist route; the demo prints its caps).")
  var config: String?

  func run() async throws {
    let path = socket ?? (NSTemporaryDirectory() + "switchboard-demo-\(getpid()).sock")
    // This process is the demo's only caller: its uid is tenant `demo`.
    let yaml = try config.map { try String(contentsOfFile: $0, encoding: .utf8) } ?? DemoConfiguration.yaml
    let daemon = try await InProcessDaemon.start(yaml: yaml + "\ntenants:\n  demo: {uids: [\(getuid())]}\n", socketPath: path)
    var ok = true
    do {
      guard let route = daemon.runtime.configuration.routes[Self.route] else { throw CLIError("the demo config has no route \(Self.route)") }
      ok = try await golden(path, route: route)
    } catch {
      print("demo failed: \(error)")
      ok = false
    }
    await daemon.stop()
    print(FileManager.default.fileExists(atPath: path) ? "daemon stopped (socket NOT removed)" : "daemon stopped, socket removed")
    if !ok { throw ExitCode(1) }
  }

  /// The route the demo sends to (in ``DemoConfiguration/yaml``).
  static let route = "payments-assist"

  /// The caps and limits of `route` as the config set them, for the demo's first line.
  static func describe(_ route: RoutePolicy) -> String {
    var parts: [String] = []
    parts.append("max_cost_usd=\(route.constraints.maxCostUSD.map(formatUSD) ?? "none")")
    let daily = route.budget.perTenant.daily
    if let h = daily.hard { parts.append("tenant_daily_hard_usd=\(h)") }
    if let s = daily.soft { parts.append("tenant_daily_soft_usd=\(s)") }
    parts.append("attempt_ms=\(Int(route.timeouts.attempt.milliseconds))")
    parts.append("max_attempts=\(route.retry.maxAttempts)")
    return parts.joined(separator: " ")
  }

  func golden(_ path: String, route: RoutePolicy) async throws -> Bool {
    let client = try await SwitchboardClient.connect(socketPath: path)
    defer { Task { await client.close() } }
    print("switchboard demo: daemon listening on \(path) (simulated providers sim-a, sim-b, sim-c)")

    var req = Switchboard_V1_CompletionRequest()
    req.route = Self.route
    req.optMaxTokens = .maxTokens(400)
    var m = Switchboard_V1_Message(); m.role = .user; m.content = "Summarise the refund policy for order 1234."
    req.messages = [m]
    let response = try await client.complete(req)

    var a = Switchboard_V1_AdminRequest()
    var e = Switchboard_V1_ExplainRequest(); e.requestID = response.requestID
    a.kind = .explain(e)
    let explain = try await client.admin(a).explain
    let event = explain.event
    let first = event.candidates.filter(\.eligible).sorted { $0.rank < $1.rank }.first
    let score: String
    if case .score(let s)? = first?.optScore { score = String(format: "%.2f", s) } else { score = "n/a" }
    // The caps come from the config the daemon runs (routes.payments-assist), never literals.
    print("request_id=\(response.requestID) route=\(event.route) provider=\(first.map { "\($0.provider)/\($0.model)" } ?? "-") provider_score=\(score) \(Self.describe(route))")
    var failedOver = false
    for att in event.attempts where att.outcome != "skipped" {
      if att.outcome == "failed" {
        let timeout = att.timeoutFired.isEmpty ? "" : " timeout=\(att.timeoutFired)(\(att.timeoutLimitMs))"
        print("attempt=\(att.index) provider=\(att.provider)/\(att.model) failed=\(att.reasonCode) class=\(att.failureClass) latency_ms=\(att.latencyMs)\(timeout)")
        failedOver = true
      } else if failedOver {
        print("fallback=\(att.provider)/\(att.model) selected")
      }
    }
    var costText = "unknown", deltaText = "unknown", baseText = "unknown"
    if case .costUsd(let c)? = response.optCostUsd { costText = formatUSD(c) }
    if case .costDeltaUsd(let d)? = response.optCostDeltaUsd { deltaText = formatUSD(d) }
    if case .baselineCostUsd(let b)? = response.optBaselineCostUsd { baseText = formatUSD(b) }
    // The ratio explain shows (from the recorded decision's exact costs).
    let ratioText = (try? DecisionJSON.decode(explain.eventJson))?.costRatioToBaseline.map { " cost_ratio=" + DecisionExplainer.ratio($0) } ?? ""
    print("final provider=\(response.provider)/\(response.model) cost=\(costText) baseline=\(event.baselineProvider)/\(event.baselineModel) baseline_cost=\(baseText) cost_delta=\(deltaText)\(ratioText) latency_ms=\(response.latencyMs) attempts=\(response.attempts)")
    let recorded = event.requestID == response.requestID && !event.attempts.isEmpty
    print("explainability_event=\(recorded ? "recorded" : "MISSING")")

    // A streamed request on the now-warm route.
    var sreq = req
    sreq.stream = true
    let (_, frames) = try await client.stream(sreq)
    var chunks = 0
    var final: Switchboard_V1_CompletionResponse?
    for try await f in frames {
      if case .completionChunk = f.body { chunks += 1 }
      if case .completionResponse(let r) = f.body { final = r }
      if case .status(let s) = f.body { throw SwitchboardStatusError(s) }
    }
    print("stream request_id=\(final?.requestID ?? "-") provider=\(final.map { "\($0.provider)/\($0.model)" } ?? "-") chunks=\(chunks) latency_ms=\(final?.latencyMs ?? 0)")
    print("")
    print("switchboard explain \(response.requestID):")
    print(explain.text)
    return recorded && failedOver && response.attempts >= 2 && final != nil
  }
}
