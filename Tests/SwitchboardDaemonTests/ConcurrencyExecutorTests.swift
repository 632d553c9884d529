import Testing
@testable import SwitchboardDaemon

/// `SWITCHBOARD_EXECUTOR` and the event-loop sizing, without installing anything
/// (installing is for switchboardd's main only).
@Suite("Concurrency executor choice")
struct ConcurrencyExecutorTests {
  @Test func theVariableChoosesAndAnUnknownValueIsRejected() {
    let cases: [([String: String], ConcurrencyExecutor?)] = [
      ([:], ConcurrencyExecutor.standard),
      (["SWITCHBOARD_EXECUTOR": "nio"], .nio),
      (["SWITCHBOARD_EXECUTOR": "NIO"], .nio),
      (["SWITCHBOARD_EXECUTOR": "default"], .default),
      (["SWITCHBOARD_EXECUTOR": "threads"], nil),
    ]
    for (environment, expected) in cases {
      #expect(ConcurrencyExecutor.chosen(in: environment) == expected, "\(environment)")
    }
  }

  @Test func theAffinityMaskIsReadAndTheNIOVariableWins() {
    #if os(Linux)
    let allowed = EventLoopSizing.allowedCPUs()
    #expect((allowed ?? 0) >= 1)
    #endif
    #expect(EventLoopSizing.matchCPUAffinity(environment: ["NIO_SINGLETON_GROUP_LOOP_COUNT": "3"]) == nil)
  }
}
