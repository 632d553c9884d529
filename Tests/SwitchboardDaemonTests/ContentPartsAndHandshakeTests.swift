import Foundation
import SwitchboardClient
import SwitchboardWire
import Testing

/// Image content parts and the protocol-version check, through the real socket.
@Suite struct ContentPartsAndHandshakeTests {
  static let yaml = TestSupport.baseYAML
    .replacingOccurrences(of: "models:\n", with: "  eye: {kind: simulated, seed: 5, latency_ms: {p50: 2, p99: 5}}\nmodels:\n")
    .replacingOccurrences(of: "routes:\n", with: """
      eye/v: {input: 1.0, output: 2.0, context: 32000, max_output: 4096, capabilities: [vision, streaming]}
    routes:
      vision: {candidates: [fast/m, eye/v]}

    """)

  static func imageRequest(route: String, url: String = "https://example.com/cat.png", detail: String = "",
                           role: Switchboard_V1_Role = .user) -> Switchboard_V1_CompletionRequest {
    var r = Switchboard_V1_CompletionRequest()
    r.route = route
    var m = Switchboard_V1_Message()
    m.role = role
    var text = Switchboard_V1_ContentPart(); text.text = "What is this?"
    var img = Switchboard_V1_ContentPart(); img.image.url = url; img.image.detail = detail
    m.parts = [text, img]
    r.messages = [m]
    return r
  }

  @Test func imagesGoToAVisionCandidateAndAreRefusedWithoutOne() async throws {
    try await TestSupport.withDaemon(yaml: Self.yaml) { _, socket in
      let client = try await SwitchboardClient.connect(socketPath: socket)
      let r = try await client.complete(Self.imageRequest(route: "vision"))
      #expect(r.provider == "eye")
      var refused = Self.imageRequest(route: "default")
      refused.requestID = "img-refused-1"
      do {
        _ = try await client.complete(refused)
        Issue.record("a route without vision served an image")
      } catch let e as SwitchboardStatusError {
        #expect(e.status.code == .unavailable)
        #expect(e.status.reasonCode == "capability_missing")
        #expect(e.status.message.contains("fast/m lacks vision"))
        // The daemon issues request ids; the client's id is only a correlation id.
        #expect(!e.status.requestID.isEmpty && e.status.requestID != "img-refused-1")
        #expect(e.description.hasPrefix("UNAVAILABLE (capability_missing): "))
      }
      // Text parts alone need no vision.
      var textOnly = Self.imageRequest(route: "default")
      textOnly.messages[0].parts.removeLast()
      #expect(try await client.complete(textOnly).provider == "fast")
      await client.close()
    }
  }

  @Test(arguments: [
    ("ftp://example.com/a.png", "", "https:// or data:"),
    ("data:text/plain;base64,aGk=", "", "unsupported image type"),
    ("data:image/png;base64,@@@", "", "not base64"),
    ("data:image/png,raw", "", "data:<image type>;base64"),
    ("https://example.com/a.png", "ultra", "detail must be"),
  ])
  func badImagesAreInvalidArguments(_ url: String, _ detail: String, _ says: String) async throws {
    try await TestSupport.withDaemon(yaml: Self.yaml) { _, socket in
      let client = try await SwitchboardClient.connect(socketPath: socket)
      await #expect { _ = try await client.complete(Self.imageRequest(route: "vision", url: url, detail: detail)) } throws: { e in
        let s = (e as? SwitchboardStatusError)?.status
        return s?.code == .invalidArgument && s?.message.contains(says) == true
      }
      await client.close()
    }
  }

  @Test func partsAndContentTogetherAndImagesOutsideUserMessagesAreRefused() async throws {
    try await TestSupport.withDaemon(yaml: Self.yaml) { _, socket in
      let client = try await SwitchboardClient.connect(socketPath: socket)
      var both = Self.imageRequest(route: "vision")
      both.messages[0].content = "also text"
      await #expect { _ = try await client.complete(both) } throws: { e in
        (e as? SwitchboardStatusError)?.status.message.contains("content or parts, not both") == true
      }
      var assistant = Self.imageRequest(route: "vision", role: .assistant)
      var u = Switchboard_V1_Message(); u.role = .user; u.content = "and?"
      assistant.messages.append(u)
      await #expect { _ = try await client.complete(assistant) } throws: { e in
        (e as? SwitchboardStatusError)?.status.message.contains("user messages only") == true
      }
      await client.close()
    }
  }

  @Test func aHelloWithAnUnknownVersionIsRefusedAndTheConnectionClosed() async throws {
    try await TestSupport.withDaemon(yaml: Self.yaml) { _, socket in
      let ok = try await SwitchboardClient.connect(socketPath: socket)
      var hello = Switchboard_V1_Hello(); hello.protocolVersion = 1; hello.clientName = "test"
      let (_, welcome) = try await ok.open(.hello(hello), callID: 0)
      var got: [Switchboard_V1_Frame] = []
      for try await f in welcome { got.append(f); break }
      #expect(got.first?.welcome.protocolVersion == 1)
      await ok.close()

      let bad = try await SwitchboardClient.connect(socketPath: socket)
      hello.protocolVersion = 2
      let (_, frames) = try await bad.open(.hello(hello), callID: 0)
      var status: Switchboard_V1_Status?
      for try await f in frames { if case .status(let s) = f.body { status = s; break } }
      #expect(status?.code == .failedPrecondition)
      #expect(status?.reasonCode == "unsupported_protocol_version")
      let deadline = ContinuousClock.now + .seconds(5)
      while bad.isActive && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
      #expect(!bad.isActive, "the daemon closes a connection whose version it refused")
      await bad.close()
    }
  }
}
