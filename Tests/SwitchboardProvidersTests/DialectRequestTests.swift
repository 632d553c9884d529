import Foundation
import NIOCore
import SwitchboardCore
import SwitchboardTestKit
import Testing
@testable import SwitchboardProviders

@Suite("Requests as the provider sees them")
struct DialectRequestTests {
  @Test func azureURLAndHeader() async throws {
    try await Support.withFake { fake in
      let adapter = try Support.adapter(.openai, fake, preset: "azure", baseURL: fake.rootURL, apiVersion: "2024-10-21")
      #expect(adapter.conventionalKeyEnvironmentVariable == "AZURE_OPENAI_API_KEY")
      let response = try await adapter.complete(Support.call("my-gpt4o"), onDelta: nil)
      #expect(response.content == "fake answer from my-gpt4o")
      let attempt = try #require(fake.attempts.first)
      #expect(attempt.path == "/openai/deployments/my-gpt4o/chat/completions")
      #expect(attempt.uri.hasSuffix("?api-version=2024-10-21"))
      #expect(attempt.header("api-key") == Support.key.reveal())
      #expect(attempt.header("authorization") == nil)
    }
  }

  @Test(arguments: ["o3", "o4-mini", "gpt-5-mini", "openai/o1"])
  func reasoningModelOptionTranslation(_ model: String) async throws {
    try await Support.withFake { fake in
      let adapter = try Support.adapter(.openai, fake)
      let request = ChatRequest(messages: [ChatMessage(role: .user, content: "think")], maxTokens: 100, temperature: 0.5,
                                topP: 0.9, seed: 7)
      let response = try await adapter.complete(Support.call(model, request: request), onDelta: nil)
      let body = try #require(fake.attempts.first?.body)
      #expect(body["max_completion_tokens"]?.int == 100)
      #expect(body["max_tokens"] == nil)
      #expect(body["temperature"] == nil)
      #expect(body["top_p"] == nil)
      #expect(body["seed"]?.int == 7)
      #expect(response.warnings.contains("max_tokens_renamed:max_completion_tokens"))
      #expect(response.warnings.contains("temperature_dropped:reasoning_model"))
      #expect(response.warnings.contains("top_p_dropped:reasoning_model"))
    }
  }

  @Test func catalogReasoningFlagAndPlainModels() throws {
    let dialect = try OpenAIDialect(preset: .openai)
    let request = ChatRequest(messages: [], maxTokens: 50, temperature: 0.2, stop: ["END"])
    let plain = dialect.translateOptions(request, model: "gpt-4o-mini", info: nil)
    #expect(plain.fields["max_tokens"] == .int(50))
    #expect(plain.fields["temperature"] == .double(0.2))
    #expect(plain.fields["stop"] == .array(["END"]))
    #expect(plain.warnings.isEmpty)
    let flagged = dialect.translateOptions(request, model: "my-finetune", info: ModelInfo(reasoning: true))
    #expect(flagged.fields["max_completion_tokens"] == .int(50))
    #expect(flagged.fields["temperature"] == nil)
    let mistral = try OpenAIDialect(preset: .mistral).translateOptions(ChatRequest(messages: [], seed: 3), model: "m", info: nil)
    #expect(mistral.fields["random_seed"] == .int(3))
    #expect(mistral.warnings == ["seed_renamed:random_seed"])
  }

  @Test func openAIResponseFormatAndMessages() throws {
    let dialect = try OpenAIDialect(preset: .groq)
    let request = ChatRequest(
      messages: [ChatMessage(role: .system, content: "sys"), ChatMessage(role: .user, content: "q"),
                 ChatMessage(role: .assistant, content: "", toolCalls: [ToolCall(id: "c1", name: "f", argumentsJSON: "{}")]),
                 ChatMessage(role: .tool, content: "42", toolCallID: "c1")],
      responseFormat: .jsonSchema(name: "answer", schema: #"{"type":"object"}"#, strict: true))
    let call = Support.call("llama-3.3-70b-versatile", request: request)
    let prepared = try dialect.prepareRequest(call, options: dialect.translateOptions(request, model: call.model, info: nil),
                                              stream: false)
    #expect(prepared.url == "https://api.groq.com/openai/v1/chat/completions")
    #expect(prepared.headers.first(name: "authorization") == "Bearer \(Support.key.reveal())")
    let body = try JSONValue(parsing: String(buffer: prepared.body))
    #expect(body["response_format"]?["type"] == "json_schema")
    #expect(body["response_format"]?["json_schema"]?["schema"]?["type"] == "object")
    guard case .array(let messages)? = body["messages"] else { Issue.record("no messages"); return }
    #expect(messages.count == 4)
    #expect(messages[2]["tool_calls"] != nil)
    #expect(messages[3]["tool_call_id"] == "c1")
  }

  @Test func anthropicSystemPromptDefaultMaxTokensAndHeaders() async throws {
    try await Support.withFake { fake in
      let adapter = try Support.adapter(.anthropic, fake)
      #expect(adapter.conventionalKeyEnvironmentVariable == "ANTHROPIC_API_KEY")
      let request = ChatRequest(messages: [ChatMessage(role: .system, content: "Be brief."),
                                           ChatMessage(role: .user, content: "hi")],
                                temperature: 0.3, stop: ["STOP"], seed: 1)
      let response = try await adapter.complete(Support.call("claude-sonnet-4-0", request: request), onDelta: nil)
      let attempt = try #require(fake.attempts.first)
      #expect(attempt.path == "/v1/messages")
      #expect(attempt.body["system"]?.string == "Be brief.")
      #expect(attempt.body["max_tokens"]?.int == 4096)
      #expect(attempt.body["stop_sequences"]?[0]?.string == "STOP")
      #expect(attempt.body["messages"]?.array?.count == 1)
      #expect(attempt.body["messages"]?[0]?["role"]?.string == "user")
      #expect(attempt.header("x-api-key") == Support.key.reveal())
      #expect(attempt.header("anthropic-version") == "2023-06-01")
      #expect(attempt.header("authorization") == nil)
      #expect(response.warnings.contains("seed_dropped:unsupported"))
    }
  }

  @Test func anthropicToolResultsAreGroupedIntoOneUserTurn() throws {
    let dialect = try AnthropicDialect()
    let request = ChatRequest(messages: [
      ChatMessage(role: .user, content: "q"),
      ChatMessage(role: .assistant, content: "calling", toolCalls: [ToolCall(id: "t1", name: "f", argumentsJSON: #"{"a":1}"#),
                                                                   ToolCall(id: "t2", name: "f", argumentsJSON: "{}")]),
      ChatMessage(role: .tool, content: "1", toolCallID: "t1"), ChatMessage(role: .tool, content: "2", toolCallID: "t2"),
    ])
    let call = Support.call("claude-3-5-haiku-latest", request: request)
    let prepared = try dialect.prepareRequest(call, options: dialect.translateOptions(request, model: call.model, info: nil),
                                              stream: true)
    let body = try JSONValue(parsing: String(buffer: prepared.body))
    guard case .array(let messages)? = body["messages"] else { Issue.record("no messages"); return }
    #expect(messages.count == 3)
    #expect(messages[1]["content"]?.jsonText.contains(#""input":{"a":1}"#) == true)
    guard case .array(let results)? = messages[2]["content"] else { Issue.record("no results"); return }
    #expect(results.count == 2)
    #expect(results[1]["tool_use_id"] == "t2")
    #expect(body["stream"] == true)
  }

  @Test func missingKeyIsAHardFailureWithoutANetworkCall() async throws {
    try await Support.withFake { fake in
      let adapter = try Support.adapter(.openai, fake)
      let f = try #require(await Support.failure { try await adapter.complete(Support.call("gpt-4o", key: nil), onDelta: nil) })
      #expect(f.reason == .missingKey)
      #expect(fake.attempts.isEmpty)
    }
  }

  @Test func factoryPresetsAndErrors() throws {
    let client = Support.client
    let groq = try ProviderFactory.make(name: "groq", kind: "openai", settings: .init(), httpClient: client)
    #expect(groq.conventionalKeyEnvironmentVariable == "GROQ_API_KEY")
    #expect(groq.requiresKey)
    #expect(groq.name == "groq")
    let local = try ProviderFactory.make(name: "local", kind: "vllm", settings: .init(), httpClient: client)
    #expect(!local.requiresKey)
    #expect(local.conventionalKeyEnvironmentVariable == nil)
    let custom = try ProviderFactory.make(name: "mine", kind: "openai", settings: .init(baseURL: "http://10.0.0.1/v1"), httpClient: client)
    #expect(!custom.requiresKey)
    #expect(throws: ProviderConfigurationError.self) {
      try ProviderFactory.make(name: "az", kind: "azure", settings: .init(), httpClient: client)
    }
    #expect(throws: ProviderConfigurationError.self) {
      try ProviderFactory.make(name: "x", kind: "carrier-pigeon", settings: .init(), httpClient: client)
    }
    #expect(ProviderFactory.vendor(name: "primary", kind: "openai", settings: .init()) == "openai")
    #expect(ProviderFactory.vendor(name: "az", kind: "azure", settings: .init(baseURL: "https://x")) == "openai")
    #expect(ProviderFactory.vendor(name: "claude", kind: "anthropic", settings: .init()) == "anthropic")
  }
}
