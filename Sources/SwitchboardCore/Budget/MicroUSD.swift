/// An amount of money in integer micro-USD (1 USD = 1,000,000). Every amount the
/// ledger, the planner's worst case, the decision event and the wire carry is one
/// of these, so repeated reserve/settle never drifts (no `8.67e-19` left over).
/// Arithmetic saturates at the `Int64` bounds instead of trapping.
public struct MicroUSD: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
  /// The amount in micro-USD.
  public var value: Int64

  /// Wraps an amount in micro-USD.
  public init(_ value: Int64) { self.value = value }

  /// Converts a USD amount (e.g. a config value), rounded to the nearest micro-USD.
  /// Non-finite or out-of-range inputs saturate.
  public init(usd: Double) {
    let scaled = (usd * 1_000_000).rounded()
    if scaled.isNaN { self.value = 0 }
    else if scaled >= 9.2e18 { self.value = .max }
    else if scaled <= -9.2e18 { self.value = .min }
    else { self.value = Int64(scaled) }
  }

  /// Nothing.
  public static let zero = MicroUSD(0)

  /// The amount in USD, for display and the deprecated double fields on the wire.
  public var usd: Double { Double(value) / 1_000_000 }

  public static func < (a: MicroUSD, b: MicroUSD) -> Bool { a.value < b.value }
  /// Sum, saturating at the `Int64` bounds.
  public static func + (a: MicroUSD, b: MicroUSD) -> MicroUSD {
    let (r, o) = a.value.addingReportingOverflow(b.value)
    return MicroUSD(o ? (b.value > 0 ? .max : .min) : r)
  }
  /// Difference, saturating at the `Int64` bounds.
  public static func - (a: MicroUSD, b: MicroUSD) -> MicroUSD {
    let (r, o) = a.value.subtractingReportingOverflow(b.value)
    return MicroUSD(o ? (b.value < 0 ? .max : .min) : r)
  }
  /// Adds in place, saturating.
  public static func += (a: inout MicroUSD, b: MicroUSD) { a = a + b }
  /// Subtracts in place, saturating.
  public static func -= (a: inout MicroUSD, b: MicroUSD) { a = a - b }

  /// The cost of `tokens` at `price` (micro-USD per token, i.e. USD per million
  /// tokens, held as an exact integer of pico-USD per token), rounded up.
  public static func cost(tokens: Int, picoPerToken: Int64) -> MicroUSD {
    guard tokens > 0, picoPerToken > 0 else { return .zero }
    let (p, o) = Int64(tokens).multipliedReportingOverflow(by: picoPerToken)
    if o { return MicroUSD(.max) }
    return MicroUSD(p / 1_000_000 + (p % 1_000_000 == 0 ? 0 : 1))
  }

  /// A price in USD per million tokens as exact pico-USD per token.
  public static func picoPerToken(usdPerMillion: Double) -> Int64 {
    MicroUSD(usd: usdPerMillion).value  // USD/1M tokens == micro-USD/token; ×1e6 = pico-USD/token
  }

  /// Exact decimal USD text, e.g. `0.000660` → `"0.00066"`, `15` → `"15.0"`.
  public var description: String {
    let neg = value < 0
    let mag = value.magnitude
    let whole = mag / 1_000_000
    var frac = mag % 1_000_000
    var digits = 6
    while digits > 1 && frac % 10 == 0 { frac /= 10; digits -= 1 }
    let f = String(frac)
    return (neg ? "-" : "") + String(whole) + "." + String(repeating: "0", count: digits - f.count) + f
  }
}
