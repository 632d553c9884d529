import Testing

@testable import SwitchboardCore

@Suite("Tiered: the router's answer (pure)")
struct TierRouterAnswerTests {
  static let allowed = ["fast", "balanced"]

  @Test(arguments: [
    (#"{"tier": "fast", "reason": "short"}"#, "fast"),
    (#"  {"tier":"balanced","reason":"x"}  "#, "balanced"),
    ("```json\n{\"tier\": \"fast\", \"reason\": \"fenced\"}\n```", "fast"),
    (#"{"tier": "Fast"}"#, "fast"),  // case-insensitive, spelled as declared; reason optional
    (#"{"tier": "balanced", "reason": "ok", "extra": 1}"#, "balanced"),
  ])
  func valid(text: String, tier: String) throws {
    let parsed = try TierRouterAnswer.parse(text, allowed: Self.allowed).get()
    #expect(parsed.tier == tier)
  }

  @Test(arguments: [
    "fast",                                             // not JSON
    "I pick {\"tier\": \"fast\"} because",              // text around the object
    #"{"tier": "deep", "reason": "injected"}"#,         // a declared tier outside the router's choices
    #"{"tier": "ultra"}"#,                              // no such tier
    #"{"tier": 3}"#,                                    // not a string
    #"{"reason": "no tier"}"#,                          // missing
    #"["fast"]"#,                                       // not an object
    "{\"tier\": \"fast\", \"reason\": \"" + String(repeating: "x", count: 4_000) + "\"}",  // huge
    "",
  ])
  func invalid(text: String) {
    guard case .failure(let e) = TierRouterAnswer.parse(text, allowed: Self.allowed) else {
      Issue.record("accepted \(text.prefix(60))"); return
    }
    // The message is fixed text, never the model's answer.
    #expect(!e.message.contains("ultra") && !e.message.contains("injected"))
  }

  @Test func reasonIsSanitisedAndBounded() throws {
    let text = "{\"tier\": \"fast\", \"reason\": \"line\\nbreak \\u001b[31mred\\u001b[0m " + String(repeating: "r", count: 500) + "\"}"
    let parsed = try TierRouterAnswer.parse(text, allowed: Self.allowed).get()
    #expect(!parsed.reason.contains("\n") && !parsed.reason.contains("\u{1B}"))
    #expect(parsed.reason.count <= TierRouterAnswer.maxReasonCharacters)
  }
}
