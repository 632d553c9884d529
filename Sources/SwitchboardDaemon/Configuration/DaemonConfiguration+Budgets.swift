import Foundation
import SwitchboardCore
import Yams

extension DaemonConfiguration {
  static func retryPolicy(_ r: ConfigReader, _ node: Node?, _ path: String, _ p: inout RetryPolicy) {
    let retry = r.dict(node, path, allowed: ["max_attempts", "deadline_ms", "same_candidate_retries", "retry_after_max_ms",
                                             "backoff_base_ms", "backoff_max_ms", "backoff_multiplier"])
    if let v = r.int(retry["max_attempts"], "\(path).max_attempts", min: 1, max: 100) { p.maxAttempts = v }
    if let v = r.millis(retry["deadline_ms"], "\(path).deadline_ms") { p.deadline = v }
    if let v = r.int(retry["same_candidate_retries"], "\(path).same_candidate_retries", min: 0, max: 100) { p.sameCandidateRetries = v }
    if let v = r.millis(retry["retry_after_max_ms"], "\(path).retry_after_max_ms", min: 0) { p.retryAfterMax = v }
    if let v = r.millis(retry["backoff_base_ms"], "\(path).backoff_base_ms") { p.backoffBase = v }
    if let v = r.millis(retry["backoff_max_ms"], "\(path).backoff_max_ms") { p.backoffMax = v }
    if let v = r.double(retry["backoff_multiplier"], "\(path).backoff_multiplier", min: 1, max: 100) { p.backoffMultiplier = v }
    if p.backoffMax < p.backoffBase {
      r.issue("\(path).backoff_max_ms", retry["backoff_max_ms"] ?? retry["backoff_base_ms"], "must not be below backoff_base_ms")
    }
  }

  static func timeoutPolicy(_ r: ConfigReader, _ node: Node?, _ path: String, _ p: inout TimeoutPolicy) {
    let to = r.dict(node, path, allowed: ["connect_ms", "first_token_ms", "idle_ms", "keepalive_max_ms", "attempt_ms"])
    if let v = r.millis(to["connect_ms"], "\(path).connect_ms") { p.connect = v }
    if let v = r.millis(to["first_token_ms"], "\(path).first_token_ms") { p.firstToken = v }
    if let v = r.millis(to["idle_ms"], "\(path).idle_ms") { p.idle = v }
    if let v = r.millis(to["attempt_ms"], "\(path).attempt_ms") { p.attempt = v }
    if let v = r.millis(to["keepalive_max_ms"], "\(path).keepalive_max_ms") {
      if v < p.idle { r.issue("\(path).keepalive_max_ms", to["keepalive_max_ms"], "must not be below idle_ms") }
      else { p.keepAliveMax = v }
    }
  }

  /// `{daily_usd: {soft, hard}, monthly_usd: {soft, hard}}`.
  static func caps(_ r: ConfigReader, _ node: Node?, _ path: String) -> BudgetCaps {
    let m = r.dict(node, path, allowed: ["daily_usd", "monthly_usd"])
    return BudgetCaps(daily: limit(r, m["daily_usd"], "\(path).daily_usd"), monthly: limit(r, m["monthly_usd"], "\(path).monthly_usd"))
  }

  /// A route's (or `direct`'s) `budget:` block.
  static func budgetPolicy(_ r: ConfigReader, _ node: Node?, _ path: String) -> BudgetPolicy {
    let b = r.dict(node, path, allowed: ["per_tenant_daily_usd", "per_route_daily_usd", "per_tenant_monthly_usd", "per_route_monthly_usd"])
    var p = BudgetPolicy()
    p.perTenant.daily = limit(r, b["per_tenant_daily_usd"], "\(path).per_tenant_daily_usd")
    p.perRoute.daily = limit(r, b["per_route_daily_usd"], "\(path).per_route_daily_usd")
    p.perTenant.monthly = limit(r, b["per_tenant_monthly_usd"], "\(path).per_tenant_monthly_usd")
    p.perRoute.monthly = limit(r, b["per_route_monthly_usd"], "\(path).per_route_monthly_usd")
    return p
  }

  /// `tenants:`, `budgets:` and `direct:`.
  static func parseBudgets(_ r: ConfigReader, _ top: [String: Node], _ c: inout DaemonConfiguration) {
    var seenUID: [UInt32: String] = [:], seenGID: [UInt32: String] = [:]
    for (name, node) in r.mapping(top["tenants"], "tenants") {
      let path = "tenants.\(name)"
      if name.isEmpty || name.utf8.count > TenantResolver.maxNameLength || name.hasPrefix("uid:") || name.hasPrefix("token:") || name.contains("/") {
        r.issue(path, node, "tenant names are 1-\(TenantResolver.maxNameLength) bytes, without '/', not starting with uid: or token:")
      }
      let t = r.dict(node, path, allowed: ["uids", "gids", "tokens", "sub_tenants", "allow_asserted", "budget", "sub_tenant_budget"])
      var p = TenantPolicy(name: name)
      for (ip, n) in r.list(t["uids"], "\(path).uids") {
        guard let v = r.int(n, ip, min: 0) else { continue }
        let uid = UInt32(clamping: v)
        if let other = seenUID[uid] { r.issue(ip, n, "uid already belongs to tenant '\(other)'") }
        seenUID[uid] = name; p.uids.insert(uid)
      }
      for (ip, n) in r.list(t["gids"], "\(path).gids") {
        guard let v = r.int(n, ip, min: 0) else { continue }
        let gid = UInt32(clamping: v)
        if let other = seenGID[gid] { r.issue(ip, n, "gid already belongs to tenant '\(other)'") }
        seenGID[gid] = name; p.gids.insert(gid)
      }
      p.tokens = Set(r.stringList(t["tokens"], "\(path).tokens"))
      for (sp, sn) in r.list(t["sub_tenants"], "\(path).sub_tenants") {
        guard let sub = r.string(sn, sp) else { continue }
        if sub.isEmpty || sub.utf8.count > TenantResolver.maxNameLength || sub.contains("/") {
          r.issue(sp, sn, "sub-tenant names are 1-\(TenantResolver.maxNameLength) bytes, without '/'")
        }
        p.subTenants.insert(sub)
      }
      if let v = r.bool(t["allow_asserted"], "\(path).allow_asserted") { p.allowAsserted = v }
      p.budget = caps(r, t["budget"], "\(path).budget")
      p.subTenantBudget = caps(r, t["sub_tenant_budget"], "\(path).sub_tenant_budget")
      c.budgets.tenants.tenants[name] = p
    }

    let b = r.dict(top["budgets"], "budgets", allowed: ["time_zone", "estimator", "daemon", "unmapped_tenant", "ledger_path", "ledger_sync"])
    if let tz = r.string(b["time_zone"], "budgets.time_zone") {
      if BudgetCalendar(timeZone: tz) == nil { r.issue("budgets.time_zone", b["time_zone"], "unknown time zone (use an IANA name such as UTC or Europe/Berlin)") }
      else { c.budgets.timeZone = tz }
    }
    if let v = r.oneOf(b["estimator"], "budgets.estimator", InputEstimator.self) { c.budgets.estimator = v }
    c.budgets.daemon = caps(r, b["daemon"], "budgets.daemon")
    let unmapped = r.dict(b["unmapped_tenant"], "budgets.unmapped_tenant", allowed: ["daily_usd", "monthly_usd", "allow_asserted"])
    c.budgets.tenants.unmappedBudget = BudgetCaps(daily: limit(r, unmapped["daily_usd"], "budgets.unmapped_tenant.daily_usd"),
                                                  monthly: limit(r, unmapped["monthly_usd"], "budgets.unmapped_tenant.monthly_usd"))
    if let v = r.bool(unmapped["allow_asserted"], "budgets.unmapped_tenant.allow_asserted") { c.budgets.tenants.unmappedAllowAsserted = v }
    if let v = r.string(b["ledger_path"], "budgets.ledger_path") { c.ledgerPath = v }
    if let v = r.string(b["ledger_sync"], "budgets.ledger_sync") {
      if ["full", "normal"].contains(v) { c.ledgerFullSync = v == "full" } else { r.issue("budgets.ledger_sync", b["ledger_sync"], "must be full or normal") }
    }

    let d = r.dict(top["direct"], "direct", allowed: ["enabled", "retry", "timeouts", "budget", "on_soft_cap"])
    if let v = r.bool(d["enabled"], "direct.enabled") { c.budgets.direct.enabled = v }
    retryPolicy(r, d["retry"], "direct.retry", &c.budgets.direct.retry)
    timeoutPolicy(r, d["timeouts"], "direct.timeouts", &c.budgets.direct.timeouts)
    c.budgets.direct.budget = budgetPolicy(r, d["budget"], "direct.budget")
    if let v = r.oneOf(d["on_soft_cap"], "direct.on_soft_cap", SoftCapAction.self) { c.budgets.direct.onSoftCap = v }
  }

  /// Where the ledger lives: `budgets.ledger_path`, else beside the audit database.
  public var resolvedLedgerPath: String {
    if let p = ledgerPath { return p }
    return audit.path.isEmpty ? "" : audit.path + ".ledger"
  }
}
