import Foundation
import Testing

@testable import SwitchboardCore
import SwitchboardSimulation

/// The simulated provider enforces the same limits as the HTTP adapters, on the virtual clock.
@Suite("Simulated provider: one meaning per limit")
struct SimulatedTimeoutTests {
  static func world(_ sim: SimulatedProviderConfiguration, timeouts: TimeoutPolicy = .init(),
                    deadline: Duration = .seconds(30)) -> (TestWorld, SimulatedProvider) {
    let a = SimulatedProvider(name: "a", configuration: sim)
    var route = RoutePolicy(name: "r", candidates: [CandidateSpec(Fixture.a)])
    route.timeouts = timeouts  // the defaults unless a test says otherwise
    route.retry.deadline = deadline
    return (TestWorld(routes: [route], adapters: [a]), a)
  }

  @Test func aTwentySecondUnaryGenerationSucceedsWithDefaultTimeouts() async throws {
    var sim = SimulatedProviderConfiguration()
    sim.firstTokenDelay = .seconds(12)  // a unary head comes only when all of it is generated
    sim.latencyP50 = .seconds(8); sim.latencyP99 = .seconds(8)
    let (world, _) = Self.world(sim)
    let o = try await world.complete(Fixture.request())
    let v = try #require(o.value, "\(String(describing: o.error))")
    #expect(v.attempts == 1)
    #expect(o.tried[0].latencyMs >= 19_999 && o.tried[0].latencyMs <= 20_001)
  }

  @Test func aHungUnaryCallIsBoundedByTheAttemptTimeoutNotTheFirstToken() async throws {
    var sim = SimulatedProviderConfiguration()
    sim.script = [.init("first_token_timeout")]
    var t = TimeoutPolicy()
    t.attempt = .seconds(12)
    let (world, _) = Self.world(sim, timeouts: t)
    let o = try await world.complete(Fixture.request())
    #expect(o.tried[0].reason == .timeout)
    #expect(o.tried[0].latencyMs == 12_000)
  }

  @Test func aStreamWithoutContentHitsTheFirstTokenLimit() async throws {
    var sim = SimulatedProviderConfiguration()
    sim.script = [.init("first_token_timeout")]
    let (world, _) = Self.world(sim)
    let o = try await world.complete(Fixture.request(stream: true))
    #expect(o.tried[0].reason == .firstTokenTimeout)
    #expect(o.tried[0].latencyMs == 8_000)
  }

  @Test(arguments: [(nil, 10_000.0), (Duration.seconds(25), 25_000.0)] as [(Duration?, Double)])
  func keepAlivesStretchTheIdleGapOnlyUpToTheirCeiling(ceiling: Duration?, stalledAfterMs: Double) async throws {
    var sim = SimulatedProviderConfiguration()
    sim.script = [.init("keepalive_stall")]
    sim.outputTokens = 40
    var t = TimeoutPolicy()
    t.keepAliveMax = ceiling
    t.attempt = .seconds(120)
    let (world, _) = Self.world(sim, timeouts: t, deadline: .seconds(120))
    let sink = CollectingSink()
    let o = try await world.complete(Fixture.request(stream: true), sink: sink.sink)
    #expect(o.tried[0].reason == .streamStalled)
    // The stall began after the last content chunk; it lasted exactly the ceiling (idle by default).
    let last = o.tried[0].latencyMs
    #expect(last >= stalledAfterMs && last < stalledAfterMs + 1_000, "\(last)")
    #expect(!sink.held.isEmpty || !sink.restarts.isEmpty)
  }
}
