import Foundation
import SwitchboardCore
import SwitchboardDaemon
import Testing

@Suite struct BudgetConfigTests {
  static let base = """
    providers:
      p: {kind: simulated}
    models:
      p/m: {input: 1, output: 2}
      p/x: {assumed_price: {input: 5, output: 15}}
    routes:
      r: {candidates: [p/m], on_soft_cap: cheapest,
          budget: {per_tenant_daily_usd: {hard: 1}, per_route_monthly_usd: {soft: 20, hard: 30}}}
    """

  @Test func tenantsBudgetsAndDirectParse() throws {
    let c = try DaemonConfiguration.parse(yaml: Self.base + """

      tenants:
        acme: {uids: [1000, 1001], gids: [50], tokens: [svc-a], sub_tenants: [team-a], allow_asserted: false,
               budget: {daily_usd: {soft: 4, hard: 5}, monthly_usd: {hard: 100}}, sub_tenant_budget: {daily_usd: {hard: 1}}}
      budgets:
        time_zone: Europe/Berlin
        estimator: heuristic
        daemon: {monthly_usd: {hard: 1000}}
        unmapped_tenant: {daily_usd: {hard: 0.5}, allow_asserted: true}
        ledger_path: /tmp/x.ledger
        ledger_sync: normal
      direct: {enabled: false, retry: {max_attempts: 1}, budget: {per_route_daily_usd: {hard: 2}}, on_soft_cap: deny}
      """)
    let acme = try #require(c.budgets.tenants.tenants["acme"])
    #expect(acme.uids == [1000, 1001] && acme.gids == [50] && acme.tokens == ["svc-a"] && acme.subTenants == ["team-a"])
    #expect(acme.budget.daily == BudgetLimit(soft: MicroUSD(4_000_000), hard: MicroUSD(5_000_000)))
    #expect(acme.budget.monthly.hard == MicroUSD(100_000_000) && acme.subTenantBudget.daily.hard == MicroUSD(1_000_000))
    #expect(c.budgets.timeZone == "Europe/Berlin" && c.budgets.estimator == .heuristic)
    #expect(c.budgets.daemon.monthly.hard == MicroUSD(1_000_000_000))
    #expect(c.budgets.tenants.unmappedBudget.daily.hard == MicroUSD(500_000) && c.budgets.tenants.unmappedAllowAsserted)
    #expect(c.resolvedLedgerPath == "/tmp/x.ledger" && !c.ledgerFullSync)
    #expect(!c.budgets.direct.enabled && c.budgets.direct.retry.maxAttempts == 1 && c.budgets.direct.onSoftCap == .deny)
    #expect(c.budgets.direct.budget.perRoute.daily.hard == MicroUSD(2_000_000))
    let r = try #require(c.routes["r"])
    #expect(r.onSoftCap == .cheapest && r.budget.perTenant.daily.hard == MicroUSD(1_000_000))
    #expect(r.budget.perRoute.monthly == BudgetLimit(soft: MicroUSD(20_000_000), hard: MicroUSD(30_000_000)))
    let x = try #require(c.models[CandidateRef(provider: "p", model: "x")]).applied(over: nil)
    #expect(x.budgetPrices?.assumed == true && x.budgetPrices?.output == 15_000_000)
  }

  @Test func badBudgetConfigIsRejectedWithKeyPaths() {
    let yaml = Self.base.replacingOccurrences(of: "p/x: {assumed_price: {input: 5, output: 15}}", with: "p/x: {assumed_price: {input: 5}}") + """

      tenants:
        a: {uids: [7]}
        b: {uids: [7], sub_tenants: ["x/y"]}
        "uid:9": {}
      budgets: {time_zone: Mars/Olympus, estimator: guess, ledger_sync: sometimes}
      direct: {on_soft_cap: panic}
      """
    do {
      _ = try DaemonConfiguration.parse(yaml: yaml)
      Issue.record("accepted")
    } catch let e as ConfigError {
      let paths = Set(e.issues.map(\.path))
      for p in ["tenants.b.uids[0]", "tenants.b.sub_tenants[0]", "tenants.uid:9", "budgets.time_zone", "budgets.estimator",
                "budgets.ledger_sync", "direct.on_soft_cap", "models.p/x.assumed_price"] {
        #expect(paths.contains(p), "no issue at \(p): \(e.issues)")
      }
    } catch { Issue.record("\(error)") }
  }
}
