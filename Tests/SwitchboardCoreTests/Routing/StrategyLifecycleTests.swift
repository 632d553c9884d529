import Synchronization
import Testing

@testable import SwitchboardCore

private final class Counting: RoutingStrategy {
  let cleanups = Mutex(0)
  var name: String { "counting" }
  func rank(_ c: [PlannedCandidate], context: StrategyContext) -> [PlannedCandidate] { c }
  func cleanup() { cleanups.withLock { $0 += 1 } }
}

@Suite("Custom strategy lifecycle")
struct StrategyLifecycleTests {
  @Test func reloadRetiresReplacedInstancesOnlyAndShutdownRetiresTheRest() {
    let first = Counting(), second = Counting()
    var route = Fixture.route()
    route.customStrategy = first
    let router = Router(configuration: RouterConfiguration(routes: ["r": route], adapters: [:], catalog: Fixture.catalog),
                        keys: KeyResolver(settings: [:], environment: [:]), clock: VirtualClock())
    router.reload(router.configuration)  // the same instance carried over
    #expect(first.cleanups.withLock { $0 } == 0)
    route.customStrategy = second
    router.reload(RouterConfiguration(routes: ["r": route], adapters: [:], catalog: Fixture.catalog))
    #expect(first.cleanups.withLock { $0 } == 1, "replaced: cleaned up once")
    #expect(second.cleanups.withLock { $0 } == 0)
    router.cleanupStrategies()
    #expect(second.cleanups.withLock { $0 } == 1)
    #expect(first.cleanups.withLock { $0 } == 1)
  }
}
