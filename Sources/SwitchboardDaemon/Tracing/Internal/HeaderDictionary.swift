import Instrumentation

/// Carries W3C headers through a tracer's propagator as a plain dictionary.
struct HeaderDictionaryInjector: Injector {
  func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}

/// Reads W3C headers from a plain dictionary for a tracer's propagator.
struct HeaderDictionaryExtractor: Extractor {
  func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
}
