import Foundation
import NIOCore
import SwitchboardCore
import Testing
@testable import SwitchboardProviders

/// Image content parts as each dialect serializes them.
@Suite("Image content parts in provider requests")
struct ImagePartsRequestTests {
  static let png = "data:image/png;base64,iVBORw0KGgo="
  static let request = ChatRequest(messages: [
    ChatMessage(role: .system, content: "Describe images."),
    ChatMessage(role: .user, content: "What is in these?",
                parts: [.text("What is in these?"), .image(ImageReference(url: "https://example.com/cat.png", detail: "low")),
                        .image(ImageReference(url: png))]),
  ])

  func body(_ dialect: some ProviderDialect, model: String) throws -> JSONValue {
    let call = Support.call(model, request: Self.request)
    let prepared = try dialect.prepareRequest(call, options: dialect.translateOptions(Self.request, model: model, info: nil),
                                              stream: false)
    return try JSONValue(parsing: String(buffer: prepared.body))
  }

  @Test func openAISendsTextAndImageURLParts() throws {
    let body = try body(try OpenAIDialect(preset: .openai), model: "gpt-4o")
    guard case .array(let messages)? = body["messages"], messages.count == 2 else { Issue.record("messages: \(String(describing: body["messages"]))"); return }
    #expect(messages[0]["content"] == "Describe images.")  // text-only messages stay strings
    guard case .array(let parts)? = messages[1]["content"] else { Issue.record("user content is not an array"); return }
    #expect(parts.count == 3)
    #expect(parts[0] == ["type": "text", "text": "What is in these?"])
    #expect(parts[1] == ["type": "image_url", "image_url": ["url": "https://example.com/cat.png", "detail": "low"]])
    #expect(parts[2] == ["type": "image_url", "image_url": ["url": .string(Self.png)]])
  }

  @Test func anthropicSendsBase64AndURLImageBlocks() throws {
    let body = try body(try AnthropicDialect(), model: "claude-sonnet-4-0")
    #expect(body["system"] == "Describe images.")
    guard case .array(let messages)? = body["messages"], messages.count == 1 else { Issue.record("messages"); return }
    guard case .array(let blocks)? = messages[0]["content"] else { Issue.record("user content is not an array"); return }
    #expect(blocks.count == 3)
    #expect(blocks[0] == ["type": "text", "text": "What is in these?"])
    #expect(blocks[1] == ["type": "image", "source": ["type": "url", "url": "https://example.com/cat.png"]])
    #expect(blocks[2] == ["type": "image", "source": ["type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="]])
  }

  @Test func anthropicRefusesAMalformedDataURL() throws {
    let bad = ChatRequest(messages: [ChatMessage(role: .user, content: "x", parts: [.image(ImageReference(url: "data:image/png,raw"))])])
    let dialect = try AnthropicDialect()
    let call = Support.call("claude-sonnet-4-0", request: bad)
    #expect(throws: ProviderFailure.self) {
      _ = try dialect.prepareRequest(call, options: dialect.translateOptions(bad, model: call.model, info: nil), stream: false)
    }
  }

  @Test func dataURLParts() {
    #expect(ImageReference(url: Self.png).base64DataURL?.mediaType == "image/png")
    #expect(ImageReference(url: Self.png).base64DataURL?.payload == "iVBORw0KGgo=")
    #expect(ImageReference(url: "data:IMAGE/JPEG;base64,AA==").base64DataURL?.mediaType == "image/jpeg")
    #expect(ImageReference(url: "data:image/png,raw").base64DataURL == nil)
    #expect(ImageReference(url: "https://example.com/a.png").base64DataURL == nil)
  }
}
