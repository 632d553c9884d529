import Foundation
import SwitchboardCore
@testable import SwitchboardDaemon
import Testing

/// `SwitchboardMetrics.record` reuses resolved series handles (bounded caches) instead
/// of hashing label text per request: the exposition must be exactly what resolving
/// every request from scratch gives, also when the caches overflow and with the
/// label folding rules (unknown routes, direct requests, unconfigured models,
/// dynamic tenants past their bound) in play.
@Suite struct MetricsHandleCacheTests {
  /// A varied stream: more route × tenant × candidate × outcome combinations than
  /// the caches hold, repeated so cached handles get hits too.
  static func events() throws -> [DecisionEvent] {
    var out: [DecisionEvent] = []
    let routes = ["default", "failover", "groq/llama", "invented-route"]
    let candidates = [("fast", "m"), ("bad", "m"), ("fast", "invented"), ("nope", "x")]
    for i in 0..<1_500 {
      let k = (i * 7919) % 997  // a scrambled order: combinations recur, not in sequence
      var e: DecisionEvent
      if k % 5 == 0 {
        e = try UsageMetricsTests.failedOverStream(route: routes[k % routes.count], tenant: "tenant-\(k % 45)")
      } else {
        let (p, m) = candidates[k % candidates.count]
        let failed = k % 3 == 0
        e = try MetricsHardeningTests.event(model: m, provider: p, reason: failed ? (k % 2 == 0 ? "cancelled" : "provider_5xx") : nil,
                                            failureClass: failed ? "transient" : nil, outcome: failed ? "failed" : "success")
        e.route = routes[(k / 3) % routes.count]
        e.tenant = k % 4 == 0 ? "payments" : "tenant-\(k % 45)"
        if k % 11 == 0 { e.reason = .unknownRoute }
        if k % 13 == 0 { e.attempts[0].outcome = .skipped }
        if k % 2 == 1 { e.attempts[0].usage = Usage(inputTokens: k, outputTokens: 3) }
        if k % 6 == 1 { e.attempts[0].firstTokenMs = Double(k) }
        if k % 17 == 0 { e.outcome = .cancelled }
      }
      e.totalLatencyMs = Double(k)
      out.append(e)
    }
    return out
  }

  @Test("cached handles give the same exposition as resolving every request afresh")
  func sameExpositionAsUncached() throws {
    let events = try Self.events()
    for domain in [UsageMetricsTests.domain, nil] {
      let cached = SwitchboardMetrics(), fresh = SwitchboardMetrics()
      if let domain { cached.setLabelDomain(domain); fresh.setLabelDomain(domain) }
      for (i, e) in events.enumerated() {
        cached.record(e, overhead: .microseconds(i % 300))
        fresh.state.withLock { $0.forgetHandles() }
        fresh.record(e, overhead: .microseconds(i % 300))
      }
      let a = cached.render(circuits: [], budgets: [], process: nil)
      let b = fresh.render(circuits: [], budgets: [], process: nil)
      // Compared as sorted lines: attempt series that render to the same labels (a cancel
      // counted under two outcomes) come out in dictionary order, which differs per registry.
      #expect(a.split(separator: "\n").sorted() == b.split(separator: "\n").sorted())
      #expect(a.contains("switchboard_requests_total"))
      let sizes = cached.state.withLock { ($0.requestHandles.count, $0.attemptHandles.count) }
      #expect(sizes.0 <= MetricsState.requestHandleCapacity && sizes.1 <= MetricsState.attemptHandleCapacity)
      if domain != nil {
        // The dynamic tenant bound holds with cached handles too.
        let tenants = Set(a.split(separator: "\n").compactMap { line -> Substring? in
          guard line.hasPrefix("switchboard_input_tokens_total{"), let r = line.range(of: "tenant=\"") else { return nil }
          return line[r.upperBound...].prefix { $0 != "\"" }
        })
        #expect(tenants.count <= SwitchboardMetrics.maxDynamicTenantLabels + 2, "\(tenants.count) tenant labels")
        #expect(tenants.contains("_other"))
      }
    }
  }

  @Test("a new label domain drops the cached handles (a route that became configured gets its own label)")
  func domainChangeClearsHandles() throws {
    let m = SwitchboardMetrics()
    m.setLabelDomain(UsageMetricsTests.domain)
    var e = try MetricsHardeningTests.event(model: "m")
    e.route = "later"
    m.record(e, overhead: .zero)
    var d = UsageMetricsTests.domain
    d.routes.insert("later")
    m.setLabelDomain(d)
    m.record(e, overhead: .zero)
    let text = m.render(circuits: [], budgets: [], process: nil)
    #expect(text.contains("switchboard_requests_total{route=\"_other\",outcome=\"success\"} 1"), "\(text)")
    #expect(text.contains("switchboard_requests_total{route=\"later\",outcome=\"success\"} 1"), "\(text)")
  }
}
