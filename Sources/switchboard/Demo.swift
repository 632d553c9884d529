import ArgumentParser
import Foundation
import SwitchboardClient
import SwitchboardCore
import SwitchboardDaemon
import SwitchboardWire

/// `switchboard demo`: the embedded default, end to end through the real socket.
struct Demo: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Start a daemon in process with simulated providers (no keys) and run a golden path with a failover.")
  @Option(help: "Socket path for the demo daemon (default: a temporary one).") var socket: String?

  func run() async throws {
    let path = socket ?? (NSTemporaryDirectory() + "switchboard-demo-\(getpid()).sock")
    // This process is the demo's only caller: its uid is tenant `demo`.
    let daemon = try await InProcessDaemon.start(yaml: DemoConfiguration.yaml + "\ntenants:\n  demo: {uids: [\(getuid())]}\n", socketPath: path)
    var ok = true
    do {
      ok = try await golden(path)
    } catch {
      print("demo failed: \(error)")
      ok = false
    }
    await daemon.stop()
    print(FileManager.default.fileExists(atPath: path) ? "daemon stopped (socket NOT removed)" : "daemon stopped, socket removed")
    if !ok { throw ExitCode(1) }
  }

  func golden(_ path: String) async throws -> Bool {
    let client = try await SwitchboardClient.connect(socketPath: path)
    defer { Task { await client.close() } }
    print("switchboard demo: daemon listening on \(path) (simulated providers sim-a, sim-b, sim-c)")

    var req = Switchboard_V1_CompletionRequest()
    req.route = "payments-assist"
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
    var cap = "none"
    if case .maxCostUsd(let c)? = req.constraints.optMaxCostUsd { cap = formatUSD(c) } else { cap = "0.008" }
    print("request_id=\(response.requestID) route=\(event.route) provider=\(first.map { "\($0.provider)/\($0.model)" } ?? "-") provider_score=\(score) budget_usd=\(cap)")
    var failedOver = false
    for att in event.attempts where att.outcome != "skipped" {
      if att.outcome == "failed" {
        print("attempt=\(att.index) provider=\(att.provider)/\(att.model) failed=\(att.reasonCode) class=\(att.failureClass) latency_ms=\(att.latencyMs)")
        failedOver = true
      } else if failedOver {
        print("fallback=\(att.provider)/\(att.model) selected")
      }
    }
    var costText = "unknown", deltaText = "unknown", baseText = "unknown"
    if case .costUsd(let c)? = response.optCostUsd { costText = formatUSD(c) }
    if case .costDeltaUsd(let d)? = response.optCostDeltaUsd { deltaText = formatUSD(d) }
    if case .baselineCostUsd(let b)? = response.optBaselineCostUsd { baseText = formatUSD(b) }
    print("final provider=\(response.provider)/\(response.model) cost=\(costText) baseline=\(event.baselineProvider)/\(event.baselineModel) baseline_cost=\(baseText) cost_delta=\(deltaText) latency_ms=\(response.latencyMs) attempts=\(response.attempts)")
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
