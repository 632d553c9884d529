import Foundation
import SwitchboardCore
import Testing
@testable import SwitchboardProviders

@Suite("Bundled catalog under config overrides; presets")
struct CatalogAndPresetTests {
  @Test func aOneFieldOverrideOfABundledModelKeepsItsWindowAndPrices() throws {
    let bundled = try ModelCatalogLoader.loadBundled()
    let key = "groq/llama-3.3-70b-versatile"
    let original = try #require(bundled[key])
    let ref = CandidateRef(provider: "groq", model: "llama-3.3-70b-versatile")
    let catalog = ModelCatalog(vendorEntries: bundled, overrides: [ref: ModelOverride(inputPerMillion: 0.01)],
                               vendorOf: ["groq": "groq"])
    let info = try #require(catalog.info(for: ref))
    #expect(info.inputPerMillion == 0.01)
    #expect(info.outputPerMillion == original.outputPerMillion)
    #expect(info.contextWindow == original.contextWindow)
    #expect(info.contextWindow != ModelInfo().contextWindow)
    #expect(info.maxOutputTokens == original.maxOutputTokens)
    #expect(info.capabilities == original.capabilities)
  }

  static func preset(_ name: String, kind: String = "openai", preset: String? = nil, baseURL: String? = nil) throws -> OpenAIPreset {
    try ProviderFactory.preset(name: name, kind: kind, settings: HTTPProviderSettings(preset: preset, baseURL: baseURL))
  }

  @Test func presetResolution() throws {
    // A provider named `openai` pointing at a local server is a generic server, not OpenAI.
    #expect(try Self.preset("openai", baseURL: "http://127.0.0.1:8000/v1") == .custom)
    #expect(try Self.preset("groq", baseURL: "http://127.0.0.1:8000/v1") == .custom)
    #expect(try Self.preset("groq") == .groq)
    #expect(try Self.preset("openai") == .openai)
    #expect(try Self.preset("mine") == .openai)
    #expect(try Self.preset("mine", baseURL: "http://127.0.0.1:8000/v1") == .custom)
    #expect(try Self.preset("mine", preset: "custom", baseURL: "http://127.0.0.1:8000/v1") == .custom)
    #expect(try Self.preset("openai", preset: "openai", baseURL: "http://127.0.0.1:8000/v1") == .openai)
    #expect(try Self.preset("x", preset: "azure", baseURL: "https://r.openai.azure.com") == .azure)
    let custom = try ProviderFactory.make(name: "openai", kind: "openai",
                                          settings: HTTPProviderSettings(baseURL: "http://127.0.0.1:8000/v1"),
                                          httpClient: Support.client)
    #expect(custom.conventionalKeyEnvironmentVariable == nil, "not OPENAI_API_KEY")
    #expect(!custom.requiresKey)
  }
}
