import Foundation
import NIOCore
import SwitchboardCore
import Testing
@testable import SwitchboardProviders

/// The one-pass reader that replaced Foundation's JSONDecoder on the response path
/// must accept exactly what JSON is and give the same values.
@Suite("JSONScanner")
struct JSONScannerTests {
  /// Foundation's reading of a document, rendered the way JSONValue writes it.
  static func foundation(_ text: String) -> String? {
    (try? JSONCoding.decoder.decode(JSONValue.self, from: Data(text.utf8)))?.jsonText
  }

  static let valid: [String] = [
    #"{}"#, #"[]"#, #"0"#, #"-0"#, #"1.5"#, #"-12e3"#, #"1E-2"#, #"true"#, #"false"#, #"null"#, #""""#,
    #"9223372036854775807"#, #"-9223372036854775808"#, #"9223372036854775808"#, #"123456789012345678901234567890"#,
    #"{"a":[1,2,{"b":null}],"c":"x\"y\\z\/\b\f\n\r\t","d":-0.25}"#,
    #"  {"nested": {"deeper": [[[]]], "s": "\u00e9\u4e2d\ud83d\ude00"}}  "#,
    #"["é", "中", "😀", "tab\there"]"#,
    #"{"dup": 1, "dup": 2}"#,
  ]

  static let invalid: [String] = [
    "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[01]", "[1.]", "[.5]", "[1e]", "[-]", "[+1]",
    "\"unterminated", "\"bad \\x escape\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
    "\"ctrl \u{01} char\"", "[1] 2", "tru", "nul", "[true false]", "{\"a\":1}}", "NaN", "Infinity",
  ]

  @Test("valid documents parse to what Foundation reads", arguments: valid)
  func validDocuments(_ text: String) throws {
    let mine = try JSONValue(parsing: text)
    #expect(mine.jsonText == Self.foundation(text), "for \(text)")
  }

  @Test("invalid documents are rejected", arguments: invalid)
  func invalidDocuments(_ text: String) {
    #expect(throws: JSONScanner.Failure.self) { try JSONValue(parsing: text) }
  }

  @Test("invalid UTF-8 in a string is rejected, also in a skipped member")
  func invalidUTF8() throws {
    var bad = ByteBuffer(string: #"{"model":"m","junk":""#)
    bad.writeBytes([0xC3, 0x28])
    bad.writeString(#"","choices":[]}"#)
    #expect(throws: (any Error).self) { try OpenAIWire.scanCompletion(bad) }
  }

  @Test("nesting is bounded: 100,000 open brackets throw instead of overflowing the stack")
  func deepNesting() {
    let text = String(repeating: "[", count: 100_000)
    #expect(throws: JSONScanner.Failure.self) { try JSONValue(parsing: text) }
    let ok = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
    #expect((try? JSONValue(parsing: ok)) != nil)
  }

  @Test("random documents: same value as Foundation")
  func randomDocuments() throws {
    var rng = SplitMix(seed: 42)
    for _ in 0..<2_000 {
      let text = Self.randomJSON(&rng, depth: 0)
      let mine = try JSONValue(parsing: text)
      #expect(mine.jsonText == Self.foundation(text), "for \(text)")
    }
  }

  @Test("a chat completion scans to the same fields the Decodable shape reads")
  func completionMatchesDecodable() throws {
    let bodies = [
      #"{"id":"x","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hi \"there\"\n","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":4,"total_tokens":16,"prompt_tokens_details":{"cached_tokens":2}},"system_fingerprint":"fp"}"#,
      #"{"model":"m","choices":[{"index":0,"message":{"content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get","arguments":"{\"a\":1}"}},{"index":1,"function":{"name":"put"}}]},"finish_reason":"tool_calls"}],"x_groq":{"id":"g","usage":{"prompt_tokens":3}}}"#,
      #"{"error":{"message":"bad","type":"invalid_request_error","code":400}}"#,
      #"{"choices":null,"usage":null,"model":null}"#,
      #"{"choices":[{"delta":{"content":"par"},"index":0,"finish_reason":null}]}"#,
    ]
    for text in bodies {
      let reference = try JSONDecoder().decode(OpenAIWire.Completion.self, from: Data(text.utf8))
      let scanned = try OpenAIWire.scanCompletion(ByteBuffer(string: text))
      #expect(Self.describe(scanned) == Self.describe(reference), "for \(text)")
      #expect(Self.describe(try OpenAIWire.scanCompletion(text)) == Self.describe(reference))
    }
    // Wrong member types fail like Decodable does.
    for text in [#"{"model":5}"#, #"{"choices":{}}"#, #"{"choices":[{"message":{"content":[1]}}]}"#, #"[]"#] {
      #expect((try? JSONDecoder().decode(OpenAIWire.Completion.self, from: Data(text.utf8))) == nil)
      #expect(throws: (any Error).self, "for \(text)") { try OpenAIWire.scanCompletion(text) }
    }
  }

  @Test("the dialect decodes a completion body with the scanner: content, tools, usage, finish reason")
  func dialectDecode() throws {
    let dialect = try OpenAIDialect(preset: .custom, baseURL: "http://127.0.0.1:1/v1")
    let body = ByteBuffer(string: #"{"model":"served-model","choices":[{"index":0,"message":{"role":"assistant","content":"pong","tool_calls":[{"id":"c1","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":12,"completion_tokens":4}}"#)
    let r = try dialect.decodeResponse(body, model: "asked")
    #expect(r.content == "pong" && r.model == "served-model" && r.finishReason == .toolCalls)
    #expect(r.toolCalls.map(\.id) == ["c1"] && r.toolCalls.first?.name == "f")
    #expect(r.usage.inputTokens == 12 && r.usage.outputTokens == 4)
    #expect(throws: ProviderFailure.self) { try dialect.decodeResponse(ByteBuffer(string: #"{"choices":[]"#), model: "m") }
    #expect(throws: ProviderFailure.self) { try dialect.decodeResponse(ByteBuffer(string: #"{"choices":[]}"#), model: "m") }
  }

  @Test("Anthropic messages and stream events scan to what the Decodable shapes read")
  func anthropicMatchesDecodable() throws {
    let messages = [
      #"{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[{"type":"text","text":"hi"},{"type":"tool_use","id":"tu1","name":"get","input":{"a":[1,2]}},{"type":"thinking","thinking":"..."}],"stop_reason":"tool_use","usage":{"input_tokens":10,"output_tokens":3,"cache_read_input_tokens":2}}"#,
      #"{"type":"error","error":{"type":"overloaded_error","message":"busy"}}"#,
      #"{"type":"message","content":null,"model":null}"#,
    ]
    for text in messages {
      let reference = try JSONDecoder().decode(AnthropicWire.Message.self, from: Data(text.utf8))
      let scanned = try AnthropicWire.scanMessage(ByteBuffer(string: text))
      #expect(Self.describe(scanned) == Self.describe(reference), "for \(text)")
    }
    let events = [
      #"{"type":"message_start","message":{"id":"m","type":"message","model":"claude-x","content":[],"usage":{"input_tokens":5}}}"#,
      #"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"tu","name":"f","input":{}}}"#,
      #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel\u006co"}}"#,
      #"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#,
      #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":7}}"#,
      #"{"type":"error","error":{"type":"overloaded_error","message":"x"}}"#,
      #"{"type":"ping"}"#,
    ]
    for text in events {
      let reference = try JSONDecoder().decode(AnthropicWire.Event.self, from: Data(text.utf8))
      let scanned = try AnthropicWire.scanEvent(text)
      #expect(Self.describe(scanned) == Self.describe(reference), "for \(text)")
    }
    for text in [#"{"index":1}"#, #"{"type":"x","content_block":{"text":"no type"}}"#, #"{"type":"x","index":"1"}"#, "[]"] {
      #expect((try? JSONDecoder().decode(AnthropicWire.Event.self, from: Data(text.utf8))) == nil)
      #expect(throws: (any Error).self, "for \(text)") { try AnthropicWire.scanEvent(text) }
    }
  }

  static func describe(_ m: AnthropicWire.Message?) -> String {
    guard let m else { return "nil" }
    var out = "type=\(m.type ?? "nil") model=\(m.model ?? "nil") stop=\(m.stop_reason ?? "nil")"
    out += " usage=\(m.usage?.jsonText ?? "nil") error=\(m.error?.jsonText ?? "nil")"
    out += " content=" + (m.content.map { $0.map(describe).joined(separator: ";") } ?? "nil")
    return out
  }

  static func describe(_ b: AnthropicWire.Block?) -> String {
    guard let b else { return "nil" }
    return "(\(b.type),\(b.text ?? "nil"),\(b.id ?? "nil"),\(b.name ?? "nil"),\(b.input?.jsonText ?? "nil"))"
  }

  static func describe(_ e: AnthropicWire.Event) -> String {
    var out = "type=\(e.type) index=\(e.index.map(String.init) ?? "nil") message=[\(describe(e.message))]"
    out += " block=\(describe(e.content_block)) usage=\(e.usage?.jsonText ?? "nil") error=\(e.error?.jsonText ?? "nil")"
    if let d = e.delta {
      out += " delta=(\(d.type ?? "nil"),\(d.text ?? "nil"),\(d.partial_json ?? "nil"),\(d.stop_reason ?? "nil"))"
    }
    return out
  }

  static func describe(_ c: OpenAIWire.Completion) -> String {
    var out = "model=\(c.model ?? "nil") usage=\(c.usage?.jsonText ?? "nil") error=\(c.error?.jsonText ?? "nil")"
    out += " groq=\(c.x_groq.map { $0.usage?.jsonText ?? "nil" } ?? "none")"
    for ch in c.choices ?? [] {
      out += " [i=\(ch.index.map(String.init) ?? "nil") f=\(ch.finish_reason ?? "nil")"
      for m in [ch.message, ch.delta] {
        guard let m else { out += " -"; continue }
        out += " c=\(m.content ?? "nil")"
        for t in m.tool_calls ?? [] {
          out += " t(\(t.index.map(String.init) ?? "nil"),\(t.id ?? "nil"),\(t.function?.name ?? "nil"),\(t.function?.arguments ?? "nil"))"
        }
      }
      out += "]"
    }
    if c.choices == nil { out += " nochoices" }
    return out
  }

  struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
  }

  static func randomString(_ rng: inout SplitMix) -> String {
    let pieces = ["a", "Z", "0", " ", "\\\"", "\\\\", "\\n", "\\t", "\\/", "\\u00e9", "\\ud83d\\ude00", "é", "中", "😀", "-"]
    return "\"" + (0..<rng.below(8)).map { _ in pieces[rng.below(pieces.count)] }.joined() + "\""
  }

  static func randomJSON(_ rng: inout SplitMix, depth: Int) -> String {
    let kind = depth > 4 ? rng.below(5) : rng.below(7)
    switch kind {
    case 0: return "null"
    case 1: return rng.below(2) == 0 ? "true" : "false"
    case 2:
      let forms = ["0", "-1", "42", "3.25", "-0.5", "1e3", "2E-2", "123456789", "-9007199254740993", "0.1"]
      return forms[rng.below(forms.count)]
    case 3, 4: return randomString(&rng)
    case 5: return "[" + (0..<rng.below(4)).map { _ in randomJSON(&rng, depth: depth + 1) }.joined(separator: ",") + "]"
    default:
      let n = rng.below(4)
      return "{" + (0..<n).map { i in "\"k\(i)\(rng.below(3))\" : " + randomJSON(&rng, depth: depth + 1) }.joined(separator: " , ") + "}"
    }
  }
}
