/// A small seeded RNG (SplitMix64): the same seed gives the same sequence on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  private var state: UInt64
  /// Creates a generator from a seed.
  public init(seed: UInt64) { state = seed }
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  /// A uniform double in [0, 1).
  public mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

extension String {
  /// FNV-1a hash of the UTF-8 bytes: stable across runs (unlike `hashValue`).
  var hashValueStable: Int {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return Int(bitPattern: UInt(h))
  }
}
