import Foundation
import SwitchboardCore
import SwitchboardSimulation
import SwitchboardWire
import Yams

/// Settings of one provider instance.
public struct ProviderSettings: Sendable {
  public enum Kind: String, Sendable, CaseIterable { case simulated, openai, anthropic }
  public var name: String
  public var kind: Kind
  /// openai kind: preset name (openai, groq, together, ...).
  public var preset: String?
  public var baseURL: String?
  public var apiKeyEnv: String?
  public var keys: [KeyReference] = []
  public var headers: [String: String] = [:]
  public var apiVersion: String?
  /// `ca_file`: PEM file of extra CA certificates trusted for this provider's https
  /// (besides the system roots); read when the providers are built (start, reload).
  public var caFile: String?
  public var simulated = SimulatedProviderConfiguration()
  /// Line of the provider's entry in the file (for issues found after parsing).
  public var line: Int?
}

/// Audit store settings.
public struct AuditSettings: Sendable {
  /// SQLite path; empty = in memory. Default: "".
  public var path = ""
  /// Answer only after the decision row is committed. Default: true.
  public var durableResponses = true
  /// Default: 30.
  public var retentionDays = 30
  /// Default: 1,000,000.
  public var retentionMaxRows = 1_000_000
  /// Rows per group commit. Default: 256.
  public var batchMax = 256
  /// In-memory store (empty path): MiB of recent decisions kept; the oldest are evicted
  /// beyond it, so memory stays flat. Default: 8 (the daemon stays under 60 MB RSS
  /// over 1M requests; `bench/memory.sh`).
  public var memoryBudgetMB = 8
}

/// The whole daemon configuration, validated.
public struct DaemonConfiguration: Sendable {
  public var server = UnixSocketServerConfiguration()
  public var audit = AuditSettings()
  /// "host:port" of the metrics endpoint; empty = none.
  public var metricsListen = ""
  /// Whether `metricsListen` may name a non-loopback address. Default: false.
  public var metricsAllowNonLoopback = false
  public var logFormat = "logfmt"
  public var logLevel = "info"
  public var dotenvPath = ""
  public var circuit = CircuitPolicy()
  /// The retry budget each provider gets (`retry_budget`).
  public var retryBudget = RetryBudget.Policy()
  public var providers: [String: ProviderSettings] = [:]
  /// Catalog overrides keyed by "provider/model", merged field by field over the bundled entry.
  public var models: [CandidateRef: ModelOverride] = [:]
  public var routes: [String: RoutePolicy] = [:]
  /// Tenants, daemon-wide budgets, the direct policy, estimator and time zone.
  public var budgets = BudgetConfiguration()
  /// The ledger's SQLite file; nil = beside the audit database (`<audit.path>.ledger`),
  /// in memory when the audit store is. Default: nil.
  public var ledgerPath: String?
  /// `budgets.ledger_sync: full` (default) fsyncs every ledger commit; `normal` survives
  /// a process crash but may lose the last settles on a power loss.
  public var ledgerFullSync = true
  /// The OpenAI-compatible HTTP endpoint; nil = off.
  public var http: HTTPSettings?
  /// `shared_state:` — the fleet's PostgreSQL ledger; nil = everything local (SQLite). Default: nil.
  public var sharedState: SharedStateSettings?
  /// OpenTelemetry tracing (`tracing:`). Default: off.
  public var tracing = TracingConfiguration()
  /// SHA-256 prefix of the file's text.
  public var digest = ""

  /// Loads and validates a file.
  public static func load(path: String) throws -> DaemonConfiguration {
    let text: String
    do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
      throw ConfigError(issues: [ConfigIssue(path: "(file)", line: nil, message: "cannot read \(path): \(error.localizedDescription)")])
    }
    return try parse(yaml: text)
  }

  /// Parses and validates YAML text; throws `ConfigError` listing every issue.
  public static func parse(yaml text: String) throws -> DaemonConfiguration {
    let root: Node?
    do { root = try Yams.compose(yaml: text) } catch {
      throw ConfigError(issues: [YAMLErrorLocator.issue(for: error, in: text)])
    }
    let r = ConfigReader()
    var c = DaemonConfiguration()
    c.digest = String(Secret(text).fingerprint.dropFirst(7))
    let top = r.dict(root, "", allowed: ["listen", "audit", "metrics", "logging", "keys", "circuit", "retry_budget", "providers", "models",
                                         "routes", "tenants", "budgets", "direct", "http", "shared_state", "tracing"])

    // listen
    let listen = r.dict(top["listen"], "listen", allowed: ["socket", "mode", "group", "allowed_uids", "allowed_gids", "max_frame_bytes",
                                                           "max_in_flight_per_connection", "max_in_flight", "drain_grace_ms",
                                                           "admin_uids", "admin_gids", "max_connections", "max_outbound_bytes",
                                                           "write_timeout_ms", "idle_timeout_ms", "frame_read_timeout_ms",
                                                           "max_inbound_buffer_bytes", "admin_in_flight_per_connection", "admin_in_flight"])
    if let s = r.string(listen["socket"], "listen.socket") {
      if s.isEmpty { r.issue("listen.socket", listen["socket"], "must not be empty") }
      else if s.utf8.count > 107 { r.issue("listen.socket", listen["socket"], "path longer than 107 bytes (Unix socket limit)") }
      else { c.server.path = s }
    }
    if let m = r.string(listen["mode"], "listen.mode") {
      if let v = UInt32(m, radix: 8), v <= 0o777 { c.server.mode = v } else { r.issue("listen.mode", listen["mode"], "expected an octal mode such as \"0660\"") }
    }
    if let g = r.string(listen["group"], "listen.group"), !g.isEmpty {
      if let gid = UInt32(g), gid < UInt32.max { c.server.group = gid }
      else if let grp = getgrnam(g) { c.server.group = grp.pointee.gr_gid }
      else { r.issue("listen.group", listen["group"], "no such group") }
    }
    let uids = r.list(listen["allowed_uids"], "listen.allowed_uids").compactMap { r.id($0.1, $0.0) }
    let gids = r.list(listen["allowed_gids"], "listen.allowed_gids").compactMap { r.id($0.1, $0.0) }
    c.server.access = SocketAccessPolicy(allowedUIDs: Set(uids), allowedGIDs: Set(gids))
    let adminUIDs = r.list(listen["admin_uids"], "listen.admin_uids").compactMap { r.id($0.1, $0.0) }
    let adminGIDs = r.list(listen["admin_gids"], "listen.admin_gids").compactMap { r.id($0.1, $0.0) }
    c.server.admin = SocketAccessPolicy(allowedUIDs: Set(adminUIDs), allowedGIDs: Set(adminGIDs))
    // Sizes fit the wire's uint32 fields and a 256 MiB sidecar.
    if let v = r.int(listen["max_frame_bytes"], "listen.max_frame_bytes", min: 1024, max: 64 << 20) { c.server.maxFrameBytes = v }
    if let v = r.int(listen["max_in_flight_per_connection"], "listen.max_in_flight_per_connection", min: 1, max: 65_536) { c.server.maxInFlightPerConnection = v }
    if let v = r.int(listen["max_in_flight"], "listen.max_in_flight", min: 1, max: 1_000_000) { c.server.maxInFlight = v }
    if let v = r.int(listen["admin_in_flight_per_connection"], "listen.admin_in_flight_per_connection", min: 1, max: 1024) { c.server.reservedAdminCallsPerConnection = v }
    if let v = r.int(listen["admin_in_flight"], "listen.admin_in_flight", min: 1, max: 65_536) { c.server.reservedAdminCalls = v }
    if let v = r.int(listen["max_connections"], "listen.max_connections", min: 1, max: 65_536) { c.server.maxConnections = v }
    if let v = r.int(listen["max_outbound_bytes"], "listen.max_outbound_bytes", min: 64 << 10, max: 1 << 30) { c.server.maxOutboundBytesPerConnection = v }
    if let v = r.int(listen["max_inbound_buffer_bytes"], "listen.max_inbound_buffer_bytes", min: 64 << 10, max: 4 << 30) { c.server.maxInboundBufferBytes = v }
    if let v = r.millis(listen["write_timeout_ms"], "listen.write_timeout_ms") { c.server.writeTimeout = v }
    if let v = r.millis(listen["idle_timeout_ms"], "listen.idle_timeout_ms") { c.server.idleTimeout = v }
    if let v = r.millis(listen["frame_read_timeout_ms"], "listen.frame_read_timeout_ms") { c.server.frameReadTimeout = v }
    if let v = r.millis(listen["drain_grace_ms"], "listen.drain_grace_ms", min: 0) { c.server.drainGrace = v }
    if c.server.maxFrameBytes + FrameFormat.headerSize > c.server.maxInboundBufferBytes {
      r.issue("listen.max_inbound_buffer_bytes", listen["max_inbound_buffer_bytes"] ?? listen["max_frame_bytes"],
              "must be above listen.max_frame_bytes (one whole frame must fit)")
    }

    // audit
    let audit = r.dict(top["audit"], "audit", allowed: ["path", "durable_responses", "retention_days", "retention_max_rows", "batch_max",
                                                                 "memory_budget_mb"])
    if let v = r.string(audit["path"], "audit.path") { c.audit.path = v }
    if let v = r.bool(audit["durable_responses"], "audit.durable_responses") { c.audit.durableResponses = v }
    if let v = r.int(audit["retention_days"], "audit.retention_days", min: 1, max: 36_500) { c.audit.retentionDays = v }
    if let v = r.int(audit["retention_max_rows"], "audit.retention_max_rows", min: 1) { c.audit.retentionMaxRows = v }
    if let v = r.int(audit["batch_max"], "audit.batch_max", min: 1, max: 100_000) { c.audit.batchMax = v }
    if let v = r.int(audit["memory_budget_mb"], "audit.memory_budget_mb", min: 1, max: 4096) { c.audit.memoryBudgetMB = v }

    let metrics = r.dict(top["metrics"], "metrics", allowed: ["listen", "allow_non_loopback"])
    if let v = r.bool(metrics["allow_non_loopback"], "metrics.allow_non_loopback") { c.metricsAllowNonLoopback = v }
    if let v = r.string(metrics["listen"], "metrics.listen") {
      if v.isEmpty {
        c.metricsListen = ""
      } else if let (host, port) = Self.splitHostPort(v), (0...65_535).contains(port) {
        do {
          try MetricsServer.checkHost(host, allowNonLoopback: c.metricsAllowNonLoopback)
          c.metricsListen = v
        } catch let e as MetricsServerError where e.code == .nonLoopbackHost {
          r.issue("metrics.listen", metrics["listen"], "not a loopback address; set metrics.allow_non_loopback: true to expose metrics on it")
        } catch {
          r.issue("metrics.listen", metrics["listen"], "the host must be an IP address or localhost")
        }
      } else {
        r.issue("metrics.listen", metrics["listen"], "expected host:port, e.g. 127.0.0.1:9464")
      }
    }
    let logging = r.dict(top["logging"], "logging", allowed: ["format", "level"])
    if let v = r.string(logging["format"], "logging.format") {
      if ["logfmt", "json"].contains(v) { c.logFormat = v } else { r.issue("logging.format", logging["format"], "must be logfmt or json") }
    }
    if let v = r.string(logging["level"], "logging.level") {
      if ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(v) { c.logLevel = v }
      else { r.issue("logging.level", logging["level"], "must be one of trace, debug, info, notice, warning, error, critical") }
    }
    let keys = r.dict(top["keys"], "keys", allowed: ["dotenv"])
    if let v = r.string(keys["dotenv"], "keys.dotenv") { c.dotenvPath = v }

    let circuit = r.dict(top["circuit"], "circuit", allowed: ["failure_threshold", "base_cooldown_ms", "max_cooldown_ms", "jitter"])
    if let v = r.int(circuit["failure_threshold"], "circuit.failure_threshold", min: 1, max: 1_000_000) { c.circuit.failureThreshold = v }
    if let v = r.millis(circuit["base_cooldown_ms"], "circuit.base_cooldown_ms", min: 0) { c.circuit.baseCooldown = v }
    if let v = r.millis(circuit["max_cooldown_ms"], "circuit.max_cooldown_ms", min: 0) { c.circuit.maxCooldown = v }
    if let v = r.double(circuit["jitter"], "circuit.jitter", min: 0) {
      if v > 1 { r.issue("circuit.jitter", circuit["jitter"], "must be between 0 and 1") } else { c.circuit.jitter = v }
    }
    if c.circuit.maxCooldown < c.circuit.baseCooldown {
      r.issue("circuit.max_cooldown_ms", circuit["max_cooldown_ms"], "must not be below base_cooldown_ms")
    }

    let budget = r.dict(top["retry_budget"], "retry_budget", allowed: ["max_tokens", "token_ratio"])
    if let v = r.int(budget["max_tokens"], "retry_budget.max_tokens", min: 0) {
      if v > 1000 { r.issue("retry_budget.max_tokens", budget["max_tokens"], "must be between 0 and 1000") } else { c.retryBudget.maxTokens = v }
    }
    if let v = r.double(budget["token_ratio"], "retry_budget.token_ratio", min: 0.001) {
      if v > 1 { r.issue("retry_budget.token_ratio", budget["token_ratio"], "must be between 0.001 and 1") } else { c.retryBudget.tokenRatio = v }
    }
    c.http = parseHTTP(r, top["http"], socketPath: c.server.path)
    c.tracing = parseTracing(r, top["tracing"])

    // providers
    let providers = r.mapping(top["providers"], "providers")
    if providers.isEmpty { r.issue("providers", top["providers"], "at least one provider is required") }
    for (name, node) in providers {
      let path = "providers.\(name)"
      if name.contains("/") { r.issue(path, node, "provider names may not contain '/'") }
      // The kind decides which keys belong: a simulated provider's `faults` on an
      // openai provider would be silently ignored, so it is an error.
      let kindNode = node.mapping?.first(where: { $0.key.string == "kind" })?.value
      let kindName = kindNode?.string
      let allowed: Set<String>
      switch kindName.flatMap(ProviderSettings.Kind.init(rawValue:)) {
      case .simulated?: allowed = Self.commonProviderKeys.union(Self.simulatedProviderKeys)
      case .openai?: allowed = Self.commonProviderKeys.union(Self.httpProviderKeys).union(["preset"])
      case .anthropic?: allowed = Self.commonProviderKeys.union(Self.httpProviderKeys)
      case nil: allowed = Self.commonProviderKeys.union(Self.httpProviderKeys).union(Self.simulatedProviderKeys).union(["preset"])
      }
      if let kind = kindName.flatMap(ProviderSettings.Kind.init(rawValue:)), let m = node.mapping {
        for (k, _) in m {
          guard let key = k.string, !allowed.contains(key), Self.allProviderKeys.contains(key) else { continue }
          r.issue("\(path).\(key)", k, "does not apply to kind \(kind.rawValue)")
        }
      }
      let p = r.dict(node, path, allowed: Self.allProviderKeys)
      guard let kind = r.oneOf(p["kind"], "\(path).kind", ProviderSettings.Kind.self) else {
        if p["kind"] == nil { r.issue("\(path).kind", node, "required") }
        continue
      }
      var s = ProviderSettings(name: name, kind: kind)
      s.line = node.mark?.line
      s.preset = r.string(p["preset"], "\(path).preset")
      if let u = r.string(p["base_url"], "\(path).base_url") {
        if URL(string: u)?.scheme.map({ ["http", "https"].contains($0) }) != true {
          r.issue("\(path).base_url", p["base_url"], "expected an http(s) URL")
        }
        s.baseURL = u
      }
      s.apiKeyEnv = r.string(p["api_key_env"], "\(path).api_key_env")
      s.apiVersion = r.string(p["api_version"], "\(path).api_version")
      s.caFile = r.string(p["ca_file"], "\(path).ca_file")
      if s.caFile?.isEmpty == true { s.caFile = nil }
      for (hk, hv) in r.mapping(p["headers"], "\(path).headers") {
        if let v = r.string(hv, "\(path).headers.\(hk)") { s.headers[hk] = v }
      }
      for (kp, kn) in r.list(p["keys"], "\(path).keys") {
        let k = r.dict(kn, kp, allowed: ["value", "env"])
        if let v = r.string(k["value"], "\(kp).value") { s.keys.append(.literal(Secret(v))) }
        else if let e = r.string(k["env"], "\(kp).env") { s.keys.append(.environment(e)) }
        else { r.issue(kp, kn, "a key needs 'value' or 'env'") }
      }
      if kind == .simulated {
        var sim = SimulatedProviderConfiguration()
        if let v = r.int(p["seed"], "\(path).seed", min: 0) { sim.seed = UInt64(v) }
        // Simulated latencies: at most one day.
        let lat = r.dict(p["latency_ms"], "\(path).latency_ms", allowed: ["p50", "p99"])
        if let v = r.double(lat["p50"], "\(path).latency_ms.p50", min: 0, max: Double(ConfigReader.maxMillis)) { sim.latencyP50 = .microseconds(Int64(v * 1000)) }
        if let v = r.double(lat["p99"], "\(path).latency_ms.p99", min: 0, max: Double(ConfigReader.maxMillis)) { sim.latencyP99 = .microseconds(Int64(v * 1000)) }
        if sim.latencyP99 < sim.latencyP50 { r.issue("\(path).latency_ms.p99", lat["p99"], "must not be below p50") }
        if let v = r.millis(p["first_token_ms"], "\(path).first_token_ms", min: 0) { sim.firstTokenDelay = v }
        if let v = r.int(p["output_tokens"], "\(path).output_tokens", min: 1, max: 1_000_000) { sim.outputTokens = v }
        sim.faults = faults(r, p["faults"], "\(path).faults", needRate: true)
        sim.script = faults(r, p["script"], "\(path).script", needRate: false)
        for (wp, wn) in r.list(p["down_between_ms"], "\(path).down_between_ms") {
          let pair = r.list(wn, wp).compactMap { r.int($0.1, $0.0, min: 0, max: 100 * ConfigReader.maxMillis) }
          if pair.count == 2, pair[0] < pair[1] { sim.downWindows.append(.milliseconds(pair[0]) ..< .milliseconds(pair[1])) }
          else { r.issue(wp, wn, "expected [start_ms, end_ms] with start < end") }
        }
        s.simulated = sim
      } else if kind == .openai, let preset = s.preset, !Self.openAIPresets.contains(preset) {
        r.issue("\(path).preset", p["preset"], "unknown preset; one of: " + Self.openAIPresets.sorted().joined(separator: ", "))
      } else if kind == .openai, s.preset == "custom", s.baseURL == nil {
        r.issue("\(path).base_url", node, "required with preset 'custom'")
      }
      c.providers[name] = s
    }

    // models
    for (key, node) in r.mapping(top["models"], "models") {
      let path = "models.\(key)"
      guard let ref = CandidateRef(parsing: key) else { r.issue(path, node, "expected provider/model"); continue }
      if c.providers[ref.provider] == nil { r.issue(path, node, "names a provider that is not configured") }
      let m = r.dict(node, path, allowed: ["input", "output", "cached_input", "cache_write", "context", "max_output", "capabilities", "reasoning",
                                           "assumed_price"])
      var info = ModelOverride()
      info.inputPerMillion = r.double(m["input"], "\(path).input", min: 0)
      info.outputPerMillion = r.double(m["output"], "\(path).output", min: 0)
      info.cachedInputPerMillion = r.double(m["cached_input"], "\(path).cached_input", min: 0)
      info.cacheWritePerMillion = r.double(m["cache_write"], "\(path).cache_write", min: 0)
      info.contextWindow = r.int(m["context"], "\(path).context", min: 1, max: 100_000_000)
      info.maxOutputTokens = r.int(m["max_output"], "\(path).max_output", min: 1, max: 100_000_000)
      if m["capabilities"] != nil {
        info.capabilities = Set(r.list(m["capabilities"], "\(path).capabilities").compactMap { r.oneOf($0.1, $0.0, Capability.self) })
      }
      info.reasoning = r.bool(m["reasoning"], "\(path).reasoning")
      let ap = r.dict(m["assumed_price"], "\(path).assumed_price", allowed: ["input", "output"])
      if m["assumed_price"] != nil {
        info.assumedInputPerMillion = r.double(ap["input"], "\(path).assumed_price.input", min: 0)
        info.assumedOutputPerMillion = r.double(ap["output"], "\(path).assumed_price.output", min: 0)
        if info.assumedInputPerMillion == nil || info.assumedOutputPerMillion == nil {
          r.issue("\(path).assumed_price", m["assumed_price"], "needs both input and output (USD per million tokens)")
        }
      }
      c.models[ref] = info
    }

    // routes
    for (name, node) in r.mapping(top["routes"], "routes") {
      let path = "routes.\(name)"
      let rt = r.dict(node, path, allowed: tieredRouteKeys.union(["candidates", "strategy", "seed", "score_weights", "constraints", "retry", "timeouts",
                                            "on_stream_failure", "content_policy_fallback", "budget", "on_soft_cap", "exploration",
                                            "hedge"]))
      let specs = candidateList(r, rt["candidates"], "\(path).candidates", providers: c.providers)
      if specs.isEmpty && rt["tiers"] == nil && rt["strategy"]?.string != StrategyKind.tiered.rawValue
        && r.issues.allSatisfy({ !$0.path.hasPrefix("\(path).candidates") }) {
        r.issue("\(path).candidates", rt["candidates"] ?? node, "a route needs at least one candidate")
      }
      var route = RoutePolicy(name: name, candidates: specs)
      if let text = rt["strategy"]?.string, text.hasPrefix("custom:") {
        // Resolved against the daemon's StrategyRegistry when the runtime is built.
        let name = String(text.dropFirst("custom:".count))
        if name.isEmpty { r.issue("\(path).strategy", rt["strategy"], "custom: needs a strategy name, e.g. custom:my_router") }
        else { route.customStrategyName = name }
      } else if let text = rt["strategy"]?.string, StrategyKind(rawValue: text) == nil {
        r.issue("\(path).strategy", rt["strategy"], "must be one of: "
          + StrategyKind.allCases.map(\.rawValue).joined(separator: ", ") + ", custom:NAME")
      } else if let s = r.oneOf(rt["strategy"], "\(path).strategy", StrategyKind.self) { route.strategy = s }
      parseTiered(r, rt, path, providers: c.providers, &route)
      if let v = r.int(rt["seed"], "\(path).seed", min: 0) { route.seed = UInt64(v) }
      if let v = r.double(rt["exploration"], "\(path).exploration", min: 0) {
        if v > 1 { r.issue("\(path).exploration", rt["exploration"], "must be between 0 and 1") } else { route.exploration = v }
      }
      let sw = r.dict(rt["score_weights"], "\(path).score_weights", allowed: ["cost", "latency", "reliability"])
      if let v = r.double(sw["cost"], "\(path).score_weights.cost", min: 0) { route.scoreWeights.cost = v }
      if let v = r.double(sw["latency"], "\(path).score_weights.latency", min: 0) { route.scoreWeights.latency = v }
      if let v = r.double(sw["reliability"], "\(path).score_weights.reliability", min: 0) { route.scoreWeights.reliability = v }
      let cons = r.dict(rt["constraints"], "\(path).constraints", allowed: ["max_cost_usd", "latency_sla_ms", "require", "require_known_prices",
                                                                                 "sla_trial_interval_ms"])
      route.constraints.maxCostUSD = r.double(cons["max_cost_usd"], "\(path).constraints.max_cost_usd", min: 0)
      route.constraints.latencySLA = r.millis(cons["latency_sla_ms"], "\(path).constraints.latency_sla_ms")
      if let v = route.constraints.maxCostUSD, v > 1_000_000 { r.issue("\(path).constraints.max_cost_usd", cons["max_cost_usd"], "must be at most 1000000") }
      route.constraints.required = Set(r.list(cons["require"], "\(path).constraints.require").compactMap { r.oneOf($0.1, $0.0, Capability.self) })
      if let v = r.bool(cons["require_known_prices"], "\(path).constraints.require_known_prices") { route.constraints.requireKnownPrices = v }
      if let v = r.millis(cons["sla_trial_interval_ms"], "\(path).constraints.sla_trial_interval_ms", min: 0) {
        route.constraints.slaTrialInterval = v == .zero ? nil : v
      }
      retryPolicy(r, rt["retry"], "\(path).retry", &route.retry)
      timeoutPolicy(r, rt["timeouts"], "\(path).timeouts", &route.timeouts)
      if let v = r.oneOf(rt["on_stream_failure"], "\(path).on_stream_failure", StreamFailurePolicy.self) { route.onStreamFailure = v }
      if let v = r.bool(rt["content_policy_fallback"], "\(path).content_policy_fallback") { route.contentPolicyFallback = v }
      route.budget = budgetPolicy(r, rt["budget"], "\(path).budget")
      if let v = r.oneOf(rt["on_soft_cap"], "\(path).on_soft_cap", SoftCapAction.self) { route.onSoftCap = v }
      route.hedge = hedgePolicy(r, rt["hedge"], "\(path).hedge")
      c.routes[name] = route
    }

    parseBudgets(r, top, &c)
    parseSharedState(r, top, &c)

    if !r.issues.isEmpty { throw ConfigError(issues: r.issues) }
    return c
  }

  static let commonProviderKeys: Set<String> = ["kind"]
  static let httpProviderKeys: Set<String> = ["base_url", "api_key_env", "keys", "headers", "api_version", "ca_file"]
  static let simulatedProviderKeys: Set<String> = ["seed", "latency_ms", "first_token_ms", "output_tokens", "faults", "script", "down_between_ms"]
  static let allProviderKeys: Set<String> = commonProviderKeys.union(httpProviderKeys).union(simulatedProviderKeys).union(["preset"])

  /// "host:port" or "[v6]:port" split; nil when malformed.
  static func splitHostPort(_ v: String) -> (String, Int)? {
    if v.hasPrefix("["), let close = v.firstIndex(of: "]") {
      let host = String(v[v.index(after: v.startIndex)..<close])
      let rest = v[v.index(after: close)...]
      guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()) else { return nil }
      return (host, port)
    }
    let parts = v.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2, !parts[0].isEmpty, let port = Int(parts[1]) else { return nil }
    return (String(parts[0]), port)
  }

  static let openAIPresets: Set<String> = ["openai", "groq", "together", "mistral", "deepseek", "openrouter", "fireworks", "vllm", "ollama", "azure", "custom"]

  static let faultKinds: Set<String> = [
    "ok", "slow", "timeout", "first_token_timeout", "connect_failed", "connection_reset", "provider_5xx", "rate_limited",
    "stream_cut", "stream_stalled", "keepalive_stall", "malformed", "invalid_credentials", "model_not_found", "quota_exhausted",
    "context_length_exceeded", "content_policy", "invalid_request", "invalid_response",
  ]

  private static func faults(_ r: ConfigReader, _ node: Node?, _ path: String, needRate: Bool) -> [SimulatedProviderConfiguration.Fault] {
    var out: [SimulatedProviderConfiguration.Fault] = []
    for (fp, fn) in r.list(node, path) {
      var kind: String?
      var rate = 1.0
      var retryAfter: Duration?
      if fn.mapping != nil {
        let f = r.dict(fn, fp, allowed: ["error", "rate", "retry_after_ms"])
        kind = r.string(f["error"], "\(fp).error")
        if kind == nil { r.issue("\(fp).error", fn, "required") }
        if let v = r.double(f["rate"], "\(fp).rate", min: 0) { if v > 1 { r.issue("\(fp).rate", f["rate"], "must be between 0 and 1") } else { rate = v } }
        else if needRate && f["rate"] == nil { r.issue("\(fp).rate", fn, "required for random faults") }
        retryAfter = r.millis(f["retry_after_ms"], "\(fp).retry_after_ms", min: 0)
      } else {
        kind = r.string(fn, fp)
      }
      guard let k = kind else { continue }
      guard faultKinds.contains(k) else { r.issue(fp, fn, "unknown fault; one of: " + faultKinds.sorted().joined(separator: ", ")); continue }
      out.append(.init(k, rate: rate, retryAfter: retryAfter))
    }
    return out
  }

  static func limit(_ r: ConfigReader, _ node: Node?, _ path: String) -> BudgetLimit {
    let m = r.dict(node, path, allowed: ["soft", "hard"])
    let l = BudgetLimit(softUSD: r.double(m["soft"], "\(path).soft", min: 0), hardUSD: r.double(m["hard"], "\(path).hard", min: 0))
    if let s = l.soft, let h = l.hard, s > h { r.issue("\(path).soft", m["soft"], "soft cap above the hard cap") }
    return l
  }
}
