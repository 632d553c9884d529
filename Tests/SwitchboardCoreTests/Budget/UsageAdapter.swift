import Synchronization

@testable import SwitchboardCore

/// A provider that answers after `latency(i)` with the usage `usage(call, i)` reports,
/// `i` counting its calls. Implements the real adapter protocol on the call's clock.
final class UsageAdapter: ProviderAdapter {
  let name: String
  var kind: String { "usage" }
  var conventionalKeyEnvironmentVariable: String? { nil }
  var requiresKey: Bool { false }
  private let counter = Atomic<Int>(0)
  let usage: @Sendable (ProviderCall, Int) -> Usage
  let latency: @Sendable (Int) -> Duration

  init(_ name: String, latency: @escaping @Sendable (Int) -> Duration = { _ in .milliseconds(100) },
       usage: @escaping @Sendable (ProviderCall, Int) -> Usage) {
    self.name = name; self.usage = usage; self.latency = latency
  }

  var callCount: Int { counter.load(ordering: .relaxed) }

  func complete(_ call: ProviderCall, onDelta: DeltaHandler?) async throws -> ProviderResponse {
    let i = counter.wrappingAdd(1, ordering: .relaxed).oldValue
    try await call.clock.sleep(for: latency(i))
    let u = usage(call, i)
    if let onDelta { try await onDelta(.text("answer")) }
    return ProviderResponse(content: "answer", usage: u, model: call.model)
  }
}
