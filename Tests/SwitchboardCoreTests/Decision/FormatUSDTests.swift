import Foundation
import SwitchboardCore
import Testing

@Suite struct FormatUSDTests {
  @Test(arguments: [
    (0.00066, "0.00066"), (-0.000012, "-0.000012"), (2.0, "2.0"), (0.0, "0.0"), (0.0000004, "0.0"),
    (0.0000005, "0.000001"), (1234.5, "1234.5"), (0.1 + 0.2, "0.3"), (50, "50.0"), (-3.25, "-3.25"),
  ])
  func formats(_ value: Double, _ expected: String) {
    #expect(formatUSD(value) == expected)
  }

  @Test func agreesWithPrintfRounding() {
    var rng = SplitMix64(seed: 42)
    for _ in 0..<10_000 {
      let v = (rng.nextUnit() - 0.5) * 20
      var reference = String(format: "%.6f", v)
      while reference.hasSuffix("0") && !reference.hasSuffix(".0") { reference.removeLast() }
      if reference == "-0.0" { reference = "0.0" }
      #expect(formatUSD(v) == reference, "\(v)")
    }
  }
}
