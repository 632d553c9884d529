import SwitchboardDaemon
import Testing

@Suite struct AuditMemoryBudgetConfigTests {
  @Test("audit.memory_budget_mb: default 8, parsed, and 0 rejected with its key path")
  func memoryBudgetKey() throws {
    let base = "providers: {a: {kind: simulated}}\nmodels: {a/m: {input: 1, output: 1, context: 1000, max_output: 100}}\nroutes: {r: {candidates: [a/m]}}\n"
    #expect(try DaemonConfiguration.parse(yaml: base).audit.memoryBudgetMB == 8)
    #expect(try DaemonConfiguration.parse(yaml: "audit: {memory_budget_mb: 64}\n" + base).audit.memoryBudgetMB == 64)
    do {
      _ = try DaemonConfiguration.parse(yaml: "audit: {memory_budget_mb: 0}\n" + base)
      Issue.record("memory_budget_mb: 0 was accepted")
    } catch let e as ConfigError {
      #expect(e.issues.contains { $0.path == "audit.memory_budget_mb" })
    }
  }
}
