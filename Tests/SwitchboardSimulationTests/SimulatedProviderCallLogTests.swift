import Testing
@testable import SwitchboardCore
@testable import SwitchboardSimulation

/// A daemon serving a simulated provider kept a record of every call forever
/// (~46 bytes a request: 46 MB after a million requests). The log is bounded.
@Suite struct SimulatedProviderCallLogTests {
  @Test("25,000 calls keep only the last 10,000 records, oldest first")
  func callLogIsBounded() async throws {
    var cfg = SimulatedProviderConfiguration()
    cfg.latencyP50 = .zero
    cfg.latencyP99 = .zero
    cfg.outputTokens = 1
    let sim = SimulatedProvider(name: "s", configuration: cfg)
    let clock = SystemClock()
    let request = ChatRequest(messages: [ChatMessage(role: .user, content: "ping")])
    let n = 25_000
    for i in 0..<n {
      let limits = AttemptLimits(connect: .seconds(60), firstToken: .seconds(60), idle: .seconds(60),
                                 deadline: clock.now().advanced(by: .seconds(60)))
      _ = try await sim.complete(ProviderCall(request: request, model: "m\(i)", apiKey: nil, limits: limits, clock: clock),
                                 onDelta: nil)
    }
    let calls = sim.calls
    #expect(calls.count == SimulatedProvider.callLogLimit)
    #expect(calls.last?.model == "m\(n - 1)")
    #expect(calls.first?.model == "m\(n - SimulatedProvider.callLogLimit)")
  }
}
