import Synchronization

/// A locked, seedable random source shared by one router (back-off jitter,
/// exploration): seeded from the system per process unless a seed is given.
final class SeededRandom: Sendable {
  private let rng: Mutex<SplitMix64>
  /// Creates a source; nil seeds from the system generator.
  init(seed: UInt64?) {
    var system = SystemRandomNumberGenerator()
    rng = Mutex(SplitMix64(seed: seed ?? system.next()))
  }
  /// A uniform double in [0, 1).
  func nextUnit() -> Double { rng.withLock { $0.nextUnit() } }
}
