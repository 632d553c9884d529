import Foundation
import SwitchboardCore
import Testing
@testable import SwitchboardProviders

@Suite("Model catalog")
struct ModelCatalogLoaderTests {
  @Test func bundledCatalogLoads() throws {
    let catalog = try ModelCatalogLoader.loadBundled()
    let mini = try #require(catalog["openai/gpt-4o-mini"])
    #expect(mini.inputPerMillion == 0.15)
    #expect(mini.outputPerMillion == 0.6)
    #expect(mini.cachedInputPerMillion != nil)
    #expect(mini.contextWindow == 128_000)
    #expect(mini.capabilities.contains(.tools))
    #expect(!mini.reasoning)
    #expect(catalog["openai/o3"]?.reasoning == true)
    let haiku = try #require(catalog["anthropic/claude-3-5-haiku-latest"])
    #expect(haiku.capabilities.contains(.prefill))
    #expect(haiku.cacheWritePerMillion != nil)
    #expect(catalog["together/meta-llama/Llama-3.3-70B-Instruct-Turbo"] != nil)
    #expect(catalog.keys.allSatisfy { !$0.hasPrefix("_") })
    for key in ["groq/llama-3.3-70b-versatile", "mistral/mistral-large-latest", "deepseek/deepseek-chat",
                "anthropic/claude-opus-4-1"] {
      #expect(catalog[key]?.hasKnownPrices == true, "\(key)")
    }
    let core = ModelCatalog(vendorEntries: catalog, vendorOf: ["primary": "openai"])
    #expect(core.info(for: CandidateRef(provider: "primary", model: "gpt-4o-mini")) == mini)
  }

  @Test func overridesChangeOnlyWhatTheyName() throws {
    let base = try ModelCatalogLoader.loadBundled()
    let data = Data(#"{"openai/gpt-4o-mini": {"input": 0.1}, "local/llama": {"context": 32768, "capabilities": ["streaming"]}}"#.utf8)
    let merged = try ModelCatalogLoader.decode(data, base: base)
    #expect(merged["openai/gpt-4o-mini"]?.inputPerMillion == 0.1)
    #expect(merged["openai/gpt-4o-mini"]?.outputPerMillion == 0.6)
    #expect(merged["local/llama"]?.contextWindow == 32768)
    #expect(merged["local/llama"]?.hasKnownPrices == false)
    #expect(throws: ProviderConfigurationError.self) {
      try ModelCatalogLoader.decode(Data(#"{"nokey": {}}"#.utf8))
    }
  }
}
