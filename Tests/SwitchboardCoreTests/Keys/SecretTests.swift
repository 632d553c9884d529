import Foundation
import Testing

@testable import SwitchboardCore

@Suite("Secret and SHA-256")
struct SecretTests {
  static let raw = "sk-live-THIS-MUST-NEVER-APPEAR-0123456789"

  @Test(arguments: [
    ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ("The quick brown fox jumps over the lazy dog",
     "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"),
  ])
  func sha256KnownAnswers(input: String, hex: String) {
    #expect(SHA256.hex(SHA256.hash(Array(input.utf8))) == hex)
  }

  @Test func sha256MillionA() {
    #expect(SHA256.hex(SHA256.hash([UInt8](repeating: 0x61, count: 1_000_000)))
      == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
  }

  @Test func sha256PaddingBoundaries() {
    // 55, 56 and 64 bytes straddle the one-block / two-block padding edge.
    #expect(SHA256.hex(SHA256.hash([UInt8](repeating: 0x61, count: 55))) == "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318")
    #expect(SHA256.hex(SHA256.hash([UInt8](repeating: 0x61, count: 56))) == "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a")
    #expect(SHA256.hex(SHA256.hash([UInt8](repeating: 0x61, count: 64))) == "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb")
  }

  @Test func fingerprintIsPrefixOfSHA256() {
    let s = Secret("abc")
    #expect(s.fingerprint == "sha256:ba7816bf8f01")
  }

  @Test func everyPrintedFormIsTheFingerprint() throws {
    let s = Secret(Self.raw)
    var dumped = ""
    dump(s, to: &dumped)
    struct Holder: Codable { var key: Secret; var name: String }
    let json = String(decoding: try JSONEncoder().encode(Holder(key: s, name: "x")), as: UTF8.self)
    let forms = [s.description, "\(s)", String(describing: s), String(reflecting: s), s.debugDescription, dumped, json,
                 "\([s])", "\(Optional(s) as Any)", "\(ResolvedKey(secret: s, source: .env))"]
    for form in forms {
      #expect(!form.contains(Self.raw), "leaked in: \(form)")
      #expect(!form.contains("NEVER-APPEAR"), "partial leak in: \(form)")
    }
    #expect(s.description == s.fingerprint)
    #expect(json.contains(s.fingerprint))
    #expect(dumped.contains(s.fingerprint))
    #expect(s.reveal() == Self.raw)
  }

  @Test func errorsAndEventsNeverHoldTheKey() throws {
    let s = Secret(Self.raw)
    let record = AttemptRecord(index: 1, provider: "a", model: "m", keySource: .config, keyFingerprint: s.fingerprint,
                               startedOffsetMs: 0, latencyMs: 1, firstTokenMs: nil, outcome: .success, failureClass: nil,
                               reason: nil, httpStatus: nil, usage: .zero, estimatedInputTokens: 1, costUSD: nil, message: "",
                               sameCandidateRetry: false, probe: false)
    let text = String(decoding: try JSONEncoder().encode(record), as: UTF8.self)
    #expect(!text.contains(Self.raw))
    #expect(text.contains(s.fingerprint))
  }
}
