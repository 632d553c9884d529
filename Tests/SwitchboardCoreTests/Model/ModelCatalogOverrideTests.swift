import Testing

@testable import SwitchboardCore

@Suite("Catalog overrides merge field by field")
struct ModelCatalogOverrideTests {
  static let bundled = ModelInfo(inputPerMillion: 0.59, outputPerMillion: 0.79, cachedInputPerMillion: 0.3,
                                 contextWindow: 131_072, maxOutputTokens: 32_768, capabilities: [.streaming, .tools])

  @Test func anOverrideWithOneFieldKeepsTheRestOfTheBundledEntry() {
    let ref = CandidateRef(provider: "groq", model: "llama-3.3-70b-versatile")
    let catalog = ModelCatalog(vendorEntries: ["groq/llama-3.3-70b-versatile": Self.bundled],
                               overrides: [ref: ModelOverride(inputPerMillion: 0.5)], vendorOf: ["groq": "groq"])
    let info = catalog.info(for: ref)
    #expect(info?.inputPerMillion == 0.5)
    #expect(info?.outputPerMillion == 0.79)
    #expect(info?.cachedInputPerMillion == 0.3)
    #expect(info?.contextWindow == 131_072, "not the 8192 default: context-window fallback keeps working")
    #expect(info?.maxOutputTokens == 32_768)
    #expect(info?.capabilities == [.streaming, .tools])
  }

  @Test func anInstanceOfAVendorGetsTheVendorEntryUnderItsOverride() {
    let ref = CandidateRef(provider: "primary", model: "gpt-4o")
    let catalog = ModelCatalog(vendorEntries: ["openai/gpt-4o": Self.bundled],
                               overrides: [ref: ModelOverride(contextWindow: 64_000, capabilities: [.streaming])],
                               vendorOf: ["primary": "openai"])
    let info = catalog.info(for: ref)
    #expect(info?.contextWindow == 64_000)
    #expect(info?.capabilities == [.streaming])
    #expect(info?.inputPerMillion == 0.59)
  }

  @Test func anUnknownModelStartsFromDefaults() {
    let ref = CandidateRef(provider: "local", model: "mine")
    let catalog = ModelCatalog(overrides: [ref: ModelOverride(outputPerMillion: 1)])
    let info = catalog.info(for: ref)
    #expect(info?.outputPerMillion == 1)
    #expect(info?.inputPerMillion == nil)
    #expect(info?.contextWindow == ModelInfo().contextWindow)
  }
}
