import ArgumentParser
import Foundation
import Synchronization
import SwitchboardClient
import SwitchboardCore
import SwitchboardSimulation
import SwitchboardDaemon
import SwitchboardWire

/// `switchboard bench`: load through the real socket, client-observed latency.
struct Bench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Measure throughput and latency through the socket (default: an in-process daemon with a zero-latency simulated provider).")
  @Option(help: "Bench an already running daemon at this socket instead.") var socket: String?
  @Option var route = "bench"
  @Option var requests = 20_000
  @Option(help: "Calls in flight at once (closed loop).") var concurrency = 64
  @Option(help: "Open-loop rate in requests/s (0 = closed loop as fast as possible).") var rate = 0
  @Option(help: "Connections to spread calls over.") var connections = 4
  @Flag(help: "Audit to SQLite in a temp dir instead of in memory.") var sqlite = false
  @Flag(name: .customLong("no-durable"), help: "Answer without waiting for the audit commit (audit.durable_responses: false).") var noDurable = false
  @Flag(help: "Measure only the routing decision in process (plan + execute + event), no socket.") var routerOnly = false
  @Option(help: "Measure the budget ledger's added latency: local (memory, SQLite) vs this shared PostgreSQL (postgresql://USER@HOST:PORT/DB).")
  var ledgerUrl: String?
  @Option(help: "Environment variable holding the --ledger-url password.") var ledgerPasswordEnv: String?
  @Flag(help: "With --ledger-url: synchronous_commit = off for the ledger's sessions.") var ledgerAsyncCommit = false

  static let yaml = """
    listen: {socket: /tmp/unused.sock, max_in_flight_per_connection: 4096, max_in_flight: 16384}
    logging: {level: error}
    providers:
      instant: {kind: simulated, latency_ms: {p50: 0, p99: 0}, output_tokens: 8}
    models:
      instant/echo: {input: 0.1, output: 0.2, context: 32000, max_output: 1024, capabilities: [streaming]}
    routes:
      bench: {candidates: [instant/echo]}
    """

  func run() async throws {
    if routerOnly { return try await runRouterOnly() }
    if let ledgerUrl { return try await runLedger(url: ledgerUrl) }
    var daemon: InProcessDaemon?
    var path = socket ?? ""
    if socket == nil {
      path = NSTemporaryDirectory() + "switchboard-bench-\(getpid()).sock"
      var yaml = Self.yaml
      let auditPath = sqlite ? "\(NSTemporaryDirectory())switchboard-bench-\(getpid()).sqlite" : ""
      yaml = yaml.replacingOccurrences(of: "logging:", with: "audit: {path: \"\(auditPath)\", durable_responses: \(!noDurable)}\nlogging:")
      daemon = try await InProcessDaemon.start(yaml: yaml, socketPath: path)
    }
    var clients: [SwitchboardClient] = []
    for _ in 0..<max(1, connections) { clients.append(try await SwitchboardClient.connect(socketPath: path)) }
    var req = Switchboard_V1_CompletionRequest()
    req.route = route
    var m = Switchboard_V1_Message(); m.role = .user; m.content = "ping"
    req.messages = [m]
    let request = req

    // Warm up.
    for c in clients { _ = try await c.complete(request) }

    let st = BenchState()
    let total = requests
    let start = ContinuousClock.now
    let pool = clients
    await withTaskGroup(of: Void.self) { group in
      if rate > 0 {
        let interval = Duration.nanoseconds(1_000_000_000 / Int64(rate))
        for i in 0..<total {
          let due = start + interval * i
          if due > ContinuousClock.now { try? await Task.sleep(until: due, clock: .continuous) }
          group.addTask {
            let t0 = ContinuousClock.now
            do { _ = try await pool[i % pool.count].complete(request) } catch { st.failures.wrappingAdd(1, ordering: .relaxed) }
            let d = (ContinuousClock.now - t0).milliseconds
            st.latencies.withLock { $0.append(d) }
          }
        }
      } else {
        for w in 0..<concurrency {
          group.addTask {
            var local: [Double] = []
            while st.issued.wrappingAdd(1, ordering: .relaxed).newValue <= total {
              let t0 = ContinuousClock.now
              do { _ = try await pool[w % pool.count].complete(request) } catch { st.failures.wrappingAdd(1, ordering: .relaxed) }
              local.append((ContinuousClock.now - t0).milliseconds)
            }
            st.latencies.withLock { $0.append(contentsOf: local) }
          }
        }
      }
    }
    let elapsed = (ContinuousClock.now - start).milliseconds / 1000
    let sorted = st.latencies.withLock { $0 }.sorted()
    func pct(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
    let rss = residentMB()
    let line = String(format: "requests=%d failures=%d elapsed_s=%.2f throughput_rps=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f rss_mb=%.1f mode=%@ audit=%@",
                      sorted.count, st.failures.load(ordering: .relaxed), elapsed, Double(sorted.count) / elapsed, pct(0.5), pct(0.9), pct(0.99),
                      sorted.last ?? 0, rss, rate > 0 ? "open_loop_\(rate)rps" : "closed_loop_c\(concurrency)", socket != nil ? "external_daemon" : (sqlite ? "sqlite" : "memory") + (noDurable ? "_async" : "_durable"))
    print(line)
    for c in clients { await c.close() }
    await daemon?.stop()
  }

  /// The router alone: a three-candidate score route whose first candidate answers
  /// at once, so the figure is the sidecar's own planning and bookkeeping.
  func runRouterOnly() async throws {
    var cfg = SimulatedProviderConfiguration()
    cfg.latencyP50 = .zero; cfg.latencyP99 = .zero; cfg.outputTokens = 8
    let adapters: [String: any ProviderAdapter] = [
      "a": SimulatedProvider(name: "a", configuration: cfg), "b": SimulatedProvider(name: "b", configuration: cfg),
      "c": SimulatedProvider(name: "c", configuration: cfg),
    ]
    let info = ModelInfo(inputPerMillion: 1, outputPerMillion: 2, contextWindow: 32000, maxOutputTokens: 4096, capabilities: [.streaming, .tools])
    var catalog = ModelCatalog()
    for p in ["a", "b", "c"] { catalog.instanceEntries[CandidateRef(provider: p, model: "m")] = info }
    var route = RoutePolicy(name: "r", candidates: ["a", "b", "c"].map { CandidateSpec(CandidateRef(provider: $0, model: "m")) })
    route.strategy = .score
    route.budget.perTenantDaily = BudgetLimit(softUSD: 1e9, hardUSD: 2e9)
    let router = Router(configuration: RouterConfiguration(routes: ["r": route], adapters: adapters, catalog: catalog),
                        keys: KeyResolver(settings: [:], environment: [:]), audit: DiscardingSink())
    let request = ChatRequest(route: "r", messages: [ChatMessage(role: .user, content: "ping")], tenant: "bench")
    for _ in 0..<1000 { _ = await router.complete(request) }
    var samples: [Double] = []
    samples.reserveCapacity(requests)
    let start = ContinuousClock.now
    for _ in 0..<requests {
      let t0 = ContinuousClock.now
      _ = await router.complete(request)
      samples.append((ContinuousClock.now - t0).milliseconds * 1000)
    }
    let elapsed = (ContinuousClock.now - start).milliseconds / 1000
    samples.sort()
    func pct(_ p: Double) -> Double { samples[min(samples.count - 1, Int(Double(samples.count) * p))] }
    print(String(format: "router_only decisions=%d elapsed_s=%.2f decisions_per_s=%.0f p50_us=%.1f p99_us=%.1f max_us=%.1f",
                 samples.count, elapsed, Double(samples.count) / elapsed, pct(0.5), pct(0.99), samples.last ?? 0))
  }

  func residentMB() -> Double {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
      let line = s.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
      let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb / 1024
  }
}

final class BenchState: Sendable {
  let latencies = Mutex<[Double]>([])
  let failures = Atomic<Int>(0)
  let issued = Atomic<Int>(0)
}

/// Drops events (the router-only bench measures routing, not the audit store).
struct DiscardingSink: AuditSink {
  func record(_ event: DecisionEvent) async {}
}
