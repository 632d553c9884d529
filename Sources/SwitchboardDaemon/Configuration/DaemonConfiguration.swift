import Foundation
import SwitchboardCore
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
  public var simulated = SimulatedProviderConfiguration()
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
  /// beyond it, so memory stays flat. Default: 16.
  public var memoryBudgetMB = 16
}

/// The whole daemon configuration, validated.
public struct DaemonConfiguration: Sendable {
  public var server = UnixSocketServerConfiguration()
  public var audit = AuditSettings()
  /// "host:port" of the metrics endpoint; empty = none.
  public var metricsListen = ""
  public var logFormat = "logfmt"
  public var logLevel = "info"
  public var dotenvPath = ""
  public var circuit = CircuitPolicy()
  public var providers: [String: ProviderSettings] = [:]
  /// Catalog overrides keyed by "provider/model".
  public var models: [CandidateRef: ModelInfo] = [:]
  public var routes: [String: RoutePolicy] = [:]
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
      throw ConfigError(issues: [ConfigIssue(path: "(yaml)", line: nil, message: "not valid YAML: \(error)")])
    }
    let r = ConfigReader()
    var c = DaemonConfiguration()
    c.digest = String(Secret(text).fingerprint.dropFirst(7))
    let top = r.dict(root, "", allowed: ["listen", "audit", "metrics", "logging", "keys", "circuit", "providers", "models", "routes"])

    // listen
    let listen = r.dict(top["listen"], "listen", allowed: ["socket", "mode", "group", "allowed_uids", "allowed_gids", "max_frame_bytes",
                                                           "max_in_flight_per_connection", "max_in_flight", "drain_grace_ms"])
    if let s = r.string(listen["socket"], "listen.socket") {
      if s.isEmpty { r.issue("listen.socket", listen["socket"], "must not be empty") }
      else if s.utf8.count > 107 { r.issue("listen.socket", listen["socket"], "path longer than 107 bytes (Unix socket limit)") }
      else { c.server.path = s }
    }
    if let m = r.string(listen["mode"], "listen.mode") {
      if let v = UInt32(m, radix: 8), v <= 0o777 { c.server.mode = v } else { r.issue("listen.mode", listen["mode"], "expected an octal mode such as \"0660\"") }
    }
    if let g = r.string(listen["group"], "listen.group"), !g.isEmpty {
      if let gid = UInt32(g) { c.server.group = gid }
      else if let grp = getgrnam(g) { c.server.group = grp.pointee.gr_gid }
      else { r.issue("listen.group", listen["group"], "no such group '\(g)'") }
    }
    let uids = r.list(listen["allowed_uids"], "listen.allowed_uids").compactMap { r.int($0.1, $0.0, min: 0) }.map { UInt32($0) }
    let gids = r.list(listen["allowed_gids"], "listen.allowed_gids").compactMap { r.int($0.1, $0.0, min: 0) }.map { UInt32($0) }
    c.server.access = SocketAccessPolicy(allowedUIDs: Set(uids), allowedGIDs: Set(gids))
    if let v = r.int(listen["max_frame_bytes"], "listen.max_frame_bytes", min: 1024) { c.server.maxFrameBytes = v }
    if let v = r.int(listen["max_in_flight_per_connection"], "listen.max_in_flight_per_connection", min: 1) { c.server.maxInFlightPerConnection = v }
    if let v = r.int(listen["max_in_flight"], "listen.max_in_flight", min: 1) { c.server.maxInFlight = v }
    if let v = r.millis(listen["drain_grace_ms"], "listen.drain_grace_ms") { c.server.drainGrace = v }

    // audit
    let audit = r.dict(top["audit"], "audit", allowed: ["path", "durable_responses", "retention_days", "retention_max_rows", "batch_max",
                                                                 "memory_budget_mb"])
    if let v = r.string(audit["path"], "audit.path") { c.audit.path = v }
    if let v = r.bool(audit["durable_responses"], "audit.durable_responses") { c.audit.durableResponses = v }
    if let v = r.int(audit["retention_days"], "audit.retention_days", min: 1) { c.audit.retentionDays = v }
    if let v = r.int(audit["retention_max_rows"], "audit.retention_max_rows", min: 1) { c.audit.retentionMaxRows = v }
    if let v = r.int(audit["batch_max"], "audit.batch_max", min: 1) { c.audit.batchMax = v }
    if let v = r.int(audit["memory_budget_mb"], "audit.memory_budget_mb", min: 1) { c.audit.memoryBudgetMB = v }

    let metrics = r.dict(top["metrics"], "metrics", allowed: ["listen"])
    if let v = r.string(metrics["listen"], "metrics.listen") {
      if !v.isEmpty, v.split(separator: ":").count != 2 || Int(v.split(separator: ":").last ?? "") == nil {
        r.issue("metrics.listen", metrics["listen"], "expected host:port, e.g. 127.0.0.1:9464")
      } else { c.metricsListen = v }
    }
    let logging = r.dict(top["logging"], "logging", allowed: ["format", "level"])
    if let v = r.string(logging["format"], "logging.format") {
      if ["logfmt", "json"].contains(v) { c.logFormat = v } else { r.issue("logging.format", logging["format"], "must be logfmt or json") }
    }
    if let v = r.string(logging["level"], "logging.level") {
      if ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(v) { c.logLevel = v }
      else { r.issue("logging.level", logging["level"], "unknown level '\(v)'") }
    }
    let keys = r.dict(top["keys"], "keys", allowed: ["dotenv"])
    if let v = r.string(keys["dotenv"], "keys.dotenv") { c.dotenvPath = v }

    let circuit = r.dict(top["circuit"], "circuit", allowed: ["failure_threshold", "base_cooldown_ms", "max_cooldown_ms", "jitter"])
    if let v = r.int(circuit["failure_threshold"], "circuit.failure_threshold", min: 1) { c.circuit.failureThreshold = v }
    if let v = r.millis(circuit["base_cooldown_ms"], "circuit.base_cooldown_ms") { c.circuit.baseCooldown = v }
    if let v = r.millis(circuit["max_cooldown_ms"], "circuit.max_cooldown_ms") { c.circuit.maxCooldown = v }
    if let v = r.double(circuit["jitter"], "circuit.jitter", min: 0) {
      if v > 1 { r.issue("circuit.jitter", circuit["jitter"], "must be between 0 and 1") } else { c.circuit.jitter = v }
    }
    if c.circuit.maxCooldown < c.circuit.baseCooldown {
      r.issue("circuit.max_cooldown_ms", circuit["max_cooldown_ms"], "must not be below base_cooldown_ms")
    }

    // providers
    let providers = r.mapping(top["providers"], "providers")
    if providers.isEmpty { r.issue("providers", top["providers"], "at least one provider is required") }
    for (name, node) in providers {
      let path = "providers.\(name)"
      if name.contains("/") { r.issue(path, node, "provider names may not contain '/'") }
      let p = r.dict(node, path, allowed: ["kind", "preset", "base_url", "api_key_env", "keys", "headers", "api_version",
                                           "seed", "latency_ms", "first_token_ms", "output_tokens", "faults", "script", "down_between_ms"])
      guard let kind = r.oneOf(p["kind"], "\(path).kind", ProviderSettings.Kind.self) else {
        if p["kind"] == nil { r.issue("\(path).kind", node, "required") }
        continue
      }
      var s = ProviderSettings(name: name, kind: kind)
      s.preset = r.string(p["preset"], "\(path).preset")
      if let u = r.string(p["base_url"], "\(path).base_url") {
        if URL(string: u)?.scheme.map({ ["http", "https"].contains($0) }) != true {
          r.issue("\(path).base_url", p["base_url"], "expected an http(s) URL")
        }
        s.baseURL = u
      }
      s.apiKeyEnv = r.string(p["api_key_env"], "\(path).api_key_env")
      s.apiVersion = r.string(p["api_version"], "\(path).api_version")
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
        let lat = r.dict(p["latency_ms"], "\(path).latency_ms", allowed: ["p50", "p99"])
        if let v = r.double(lat["p50"], "\(path).latency_ms.p50", min: 0) { sim.latencyP50 = .microseconds(Int64(v * 1000)) }
        if let v = r.double(lat["p99"], "\(path).latency_ms.p99", min: 0) { sim.latencyP99 = .microseconds(Int64(v * 1000)) }
        if sim.latencyP99 < sim.latencyP50 { r.issue("\(path).latency_ms.p99", lat["p99"], "must not be below p50") }
        if let v = r.millis(p["first_token_ms"], "\(path).first_token_ms") { sim.firstTokenDelay = v }
        if let v = r.int(p["output_tokens"], "\(path).output_tokens", min: 1) { sim.outputTokens = v }
        sim.faults = faults(r, p["faults"], "\(path).faults", needRate: true)
        sim.script = faults(r, p["script"], "\(path).script", needRate: false)
        for (wp, wn) in r.list(p["down_between_ms"], "\(path).down_between_ms") {
          let pair = r.list(wn, wp).compactMap { r.int($0.1, $0.0, min: 0) }
          if pair.count == 2, pair[0] < pair[1] { sim.downWindows.append(.milliseconds(pair[0]) ..< .milliseconds(pair[1])) }
          else { r.issue(wp, wn, "expected [start_ms, end_ms] with start < end") }
        }
        s.simulated = sim
      } else if kind == .openai, let preset = s.preset, !Self.openAIPresets.contains(preset) {
        r.issue("\(path).preset", p["preset"], "unknown preset '\(preset)'; one of: " + Self.openAIPresets.sorted().joined(separator: ", "))
      }
      c.providers[name] = s
    }

    // models
    for (key, node) in r.mapping(top["models"], "models") {
      let path = "models.\(key)"
      guard let ref = CandidateRef(parsing: key) else { r.issue(path, node, "expected provider/model"); continue }
      if c.providers[ref.provider] == nil { r.issue(path, node, "unknown provider '\(ref.provider)'") }
      let m = r.dict(node, path, allowed: ["input", "output", "cached_input", "cache_write", "context", "max_output", "capabilities", "reasoning"])
      var info = ModelInfo()
      info.inputPerMillion = r.double(m["input"], "\(path).input", min: 0)
      info.outputPerMillion = r.double(m["output"], "\(path).output", min: 0)
      info.cachedInputPerMillion = r.double(m["cached_input"], "\(path).cached_input", min: 0)
      info.cacheWritePerMillion = r.double(m["cache_write"], "\(path).cache_write", min: 0)
      if let v = r.int(m["context"], "\(path).context", min: 1) { info.contextWindow = v }
      if let v = r.int(m["max_output"], "\(path).max_output", min: 1) { info.maxOutputTokens = v }
      if m["capabilities"] != nil {
        info.capabilities = Set(r.list(m["capabilities"], "\(path).capabilities").compactMap { r.oneOf($0.1, $0.0, Capability.self) })
      }
      if let v = r.bool(m["reasoning"], "\(path).reasoning") { info.reasoning = v }
      c.models[ref] = info
    }

    // routes
    for (name, node) in r.mapping(top["routes"], "routes") {
      let path = "routes.\(name)"
      let rt = r.dict(node, path, allowed: ["candidates", "strategy", "seed", "score_weights", "constraints", "retry", "timeouts",
                                            "on_stream_failure", "content_policy_fallback", "budget"])
      var specs: [CandidateSpec] = []
      for (cp, cn) in r.list(rt["candidates"], "\(path).candidates") {
        var target: String?
        var weight = 1.0
        if cn.mapping != nil {
          let cm = r.dict(cn, cp, allowed: ["target", "weight"])
          target = r.string(cm["target"], "\(cp).target")
          if target == nil { r.issue("\(cp).target", cn, "required") }
          if let w = r.double(cm["weight"], "\(cp).weight", min: 0) { weight = w }
        } else {
          target = r.string(cn, cp)
        }
        guard let t = target else { continue }
        guard let ref = CandidateRef(parsing: t) else { r.issue(cp, cn, "expected provider/model, got '\(t)'"); continue }
        if c.providers[ref.provider] == nil {
          r.issue(cp, cn, "unknown provider '\(ref.provider)'; configured: " + c.providers.keys.sorted().joined(separator: ", "))
        }
        specs.append(CandidateSpec(ref, weight: weight))
      }
      if specs.isEmpty && r.issues.allSatisfy({ !$0.path.hasPrefix("\(path).candidates") }) {
        r.issue("\(path).candidates", rt["candidates"] ?? node, "a route needs at least one candidate")
      }
      var route = RoutePolicy(name: name, candidates: specs)
      if let s = r.oneOf(rt["strategy"], "\(path).strategy", StrategyKind.self) { route.strategy = s }
      if let v = r.int(rt["seed"], "\(path).seed", min: 0) { route.seed = UInt64(v) }
      let sw = r.dict(rt["score_weights"], "\(path).score_weights", allowed: ["cost", "latency", "reliability"])
      if let v = r.double(sw["cost"], "\(path).score_weights.cost", min: 0) { route.scoreWeights.cost = v }
      if let v = r.double(sw["latency"], "\(path).score_weights.latency", min: 0) { route.scoreWeights.latency = v }
      if let v = r.double(sw["reliability"], "\(path).score_weights.reliability", min: 0) { route.scoreWeights.reliability = v }
      let cons = r.dict(rt["constraints"], "\(path).constraints", allowed: ["max_cost_usd", "latency_sla_ms", "require", "require_known_prices"])
      route.constraints.maxCostUSD = r.double(cons["max_cost_usd"], "\(path).constraints.max_cost_usd", min: 0)
      route.constraints.latencySLA = r.millis(cons["latency_sla_ms"], "\(path).constraints.latency_sla_ms")
      route.constraints.required = Set(r.list(cons["require"], "\(path).constraints.require").compactMap { r.oneOf($0.1, $0.0, Capability.self) })
      if let v = r.bool(cons["require_known_prices"], "\(path).constraints.require_known_prices") { route.constraints.requireKnownPrices = v }
      let retry = r.dict(rt["retry"], "\(path).retry", allowed: ["max_attempts", "deadline_ms", "same_candidate_retries", "retry_after_max_ms"])
      if let v = r.int(retry["max_attempts"], "\(path).retry.max_attempts", min: 1) { route.retry.maxAttempts = v }
      if let v = r.millis(retry["deadline_ms"], "\(path).retry.deadline_ms") { route.retry.deadline = v }
      if let v = r.int(retry["same_candidate_retries"], "\(path).retry.same_candidate_retries", min: 0) { route.retry.sameCandidateRetries = v }
      if let v = r.millis(retry["retry_after_max_ms"], "\(path).retry.retry_after_max_ms") { route.retry.retryAfterMax = v }
      let to = r.dict(rt["timeouts"], "\(path).timeouts", allowed: ["connect_ms", "first_token_ms", "idle_ms", "attempt_ms"])
      if let v = r.millis(to["connect_ms"], "\(path).timeouts.connect_ms") { route.timeouts.connect = v }
      if let v = r.millis(to["first_token_ms"], "\(path).timeouts.first_token_ms") { route.timeouts.firstToken = v }
      if let v = r.millis(to["idle_ms"], "\(path).timeouts.idle_ms") { route.timeouts.idle = v }
      if let v = r.millis(to["attempt_ms"], "\(path).timeouts.attempt_ms") { route.timeouts.attempt = v }
      if let v = r.oneOf(rt["on_stream_failure"], "\(path).on_stream_failure", StreamFailurePolicy.self) { route.onStreamFailure = v }
      if let v = r.bool(rt["content_policy_fallback"], "\(path).content_policy_fallback") { route.contentPolicyFallback = v }
      let budget = r.dict(rt["budget"], "\(path).budget", allowed: ["per_tenant_daily_usd", "per_route_daily_usd"])
      route.budget.perTenantDaily = limit(r, budget["per_tenant_daily_usd"], "\(path).budget.per_tenant_daily_usd")
      route.budget.perRouteDaily = limit(r, budget["per_route_daily_usd"], "\(path).budget.per_route_daily_usd")
      c.routes[name] = route
    }

    if !r.issues.isEmpty { throw ConfigError(issues: r.issues) }
    return c
  }

  static let openAIPresets: Set<String> = ["openai", "groq", "together", "mistral", "deepseek", "openrouter", "fireworks", "vllm", "ollama", "azure"]

  static let faultKinds: Set<String> = [
    "ok", "slow", "timeout", "first_token_timeout", "connect_failed", "connection_reset", "provider_5xx", "rate_limited",
    "stream_cut", "stream_stalled", "malformed", "invalid_credentials", "model_not_found", "quota_exhausted",
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
        retryAfter = r.millis(f["retry_after_ms"], "\(fp).retry_after_ms")
      } else {
        kind = r.string(fn, fp)
      }
      guard let k = kind else { continue }
      guard faultKinds.contains(k) else { r.issue(fp, fn, "unknown fault '\(k)'; one of: " + faultKinds.sorted().joined(separator: ", ")); continue }
      out.append(.init(k, rate: rate, retryAfter: retryAfter))
    }
    return out
  }

  private static func limit(_ r: ConfigReader, _ node: Node?, _ path: String) -> BudgetLimit {
    let m = r.dict(node, path, allowed: ["soft", "hard"])
    let l = BudgetLimit(soft: r.double(m["soft"], "\(path).soft", min: 0), hard: r.double(m["hard"], "\(path).hard", min: 0))
    if let s = l.soft, let h = l.hard, s > h { r.issue("\(path).soft", m["soft"], "soft cap above the hard cap") }
    return l
  }
}
