import Testing

@testable import SwitchboardCore

@Suite("Tiered: rules (pure)")
struct TierRulesTests {
  static let rules: [TierRule] = [
    TierRule(name: "long", tier: "deep", minInputTokens: 1_000),
    TierRule(name: "vision", tier: "deep", requires: [.vision]),
    TierRule(name: "tools-short", tier: "balanced", maxInputTokens: 200, requires: [.tools]),
    TierRule(name: "greeting", tier: "fast", maxInputTokens: 50, pattern: TierPattern(#"(?i)^\s*(hi|hello|thanks)\b"#)),
    TierRule(name: "billing", tier: "balanced", tags: ["team": "billing"]),
    TierRule(name: "any-priority", tier: "deep", tags: ["priority": "*"]),
    TierRule(name: "window", tier: "fast", minInputTokens: 300, maxInputTokens: 400),
  ]

  struct Case: Sendable, CustomTestStringConvertible {
    var label: String
    var request: ChatRequest
    var expected: String?  // tier, nil = ambiguous
    var rule: String?
    var testDescription: String { label }
  }

  static func req(_ text: String, tags: [String: String] = [:], tools: Bool = false, image: Bool = false,
                  role: ChatRole = .user, trailingAssistant: String? = nil) -> ChatRequest {
    var messages = [ChatMessage(role: role, content: text,
                                parts: image ? [.text(text), .image(ImageReference(url: "https://x/y.png"))] : [])]
    if let a = trailingAssistant { messages.append(ChatMessage(role: .assistant, content: a)) }
    return ChatRequest(route: "r", messages: messages, tools: tools ? [ToolSpec(name: "lookup")] : [], tags: tags)
  }

  static let cases: [Case] = [
    Case(label: "greeting", request: req("Hello, are you there?"), expected: "fast", rule: "greeting"),
    Case(label: "greeting is case-insensitive by (?i)", request: req("THANKS a lot"), expected: "fast", rule: "greeting"),
    Case(label: "greeting word inside a sentence does not match ^", request: req("I said hello to them"), expected: nil),
    Case(label: "long input wins over a greeting (first rule first)", request: req("hello " + String(repeating: "x", count: 4_000)),
         expected: "deep", rule: "long"),
    Case(label: "vision capability", request: req("what is in this picture", image: true), expected: "deep", rule: "vision"),
    Case(label: "tools and short", request: req("find order 12", tools: true), expected: "balanced", rule: "tools-short"),
    Case(label: "tools but long is not tools-short", request: req(String(repeating: "y", count: 1_500), tools: true),
         expected: nil),
    Case(label: "tag value", request: req("refund?", tags: ["team": "billing"]), expected: "balanced", rule: "billing"),
    Case(label: "tag other value", request: req("refund?", tags: ["team": "sales"]), expected: nil),
    Case(label: "tag wildcard", request: req("refund?", tags: ["priority": "low"]), expected: "deep", rule: "any-priority"),
    Case(label: "size window", request: req(String(repeating: "z", count: 1_200)), expected: "fast", rule: "window"),
    Case(label: "nothing matches: ambiguous", request: req("What is our refund window?"), expected: nil),
    Case(label: "pattern reads the last user message, not a later assistant one",
         request: req("hi there", trailingAssistant: "Long assistant text"), expected: "fast", rule: "greeting"),
    Case(label: "a system message alone never matches the pattern", request: req("hello", role: .system), expected: nil),
  ]

  @Test(arguments: cases)
  func classifies(_ c: Case) {
    let verdict = TierRules.classify(c.request, rules: Self.rules, estimatedInputTokens: TokenEstimator.estimateInputTokens(c.request))
    switch verdict {
    case .ambiguous:
      #expect(c.expected == nil, "expected \(c.expected ?? "-") by \(c.rule ?? "-")")
    case .matched(let tier, let rule, let detail):
      #expect(tier == c.expected)
      #expect(rule == c.rule)
      #expect(!detail.isEmpty)
      // The detail names conditions, never the request's text.
      #expect(!detail.contains(c.request.messages[0].content.prefix(12)))
    }
  }

  @Test func noRulesIsAmbiguous() {
    #expect(TierRules.classify(Self.req("hello"), rules: [], estimatedInputTokens: 3) == .ambiguous)
  }

  @Test func aRuleWithoutConditionNeverMatches() {
    #expect(TierRules.classify(Self.req("hello"), rules: [TierRule(name: "empty", tier: "deep")], estimatedInputTokens: 3) == .ambiguous)
  }

  @Test func patternSeesOnlyABoundedPrefix() {
    // A match that only exists beyond the first maxMatchedCharacters characters is not seen.
    let rule = TierRule(name: "tail", tier: "deep", pattern: TierPattern("NEEDLE"))
    let text = String(repeating: "a", count: TierRules.maxMatchedCharacters) + "NEEDLE"
    #expect(TierRules.classify(Self.req(text), rules: [rule], estimatedInputTokens: 1) == .ambiguous)
    #expect(TierRules.classify(Self.req("NEEDLE" + text), rules: [rule], estimatedInputTokens: 1) != .ambiguous)
  }

  @Test func invalidPatternDoesNotCompile() {
    #expect(TierPattern("(unclosed") == nil)
    #expect(TierPattern("[a-z]+") != nil)
  }
}
