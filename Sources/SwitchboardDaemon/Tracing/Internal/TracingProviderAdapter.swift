import SwitchboardCore

/// Wraps every provider adapter of the daemon: an attempt made inside a traced
/// request (``RequestTrace/current``) gets its span and carries its trace context
/// (`traceparent`) to the provider. Outside a traced request it only forwards.
struct TracingProviderAdapter: ProviderAdapter {
  let base: any ProviderAdapter

  var name: String { base.name }
  var kind: String { base.kind }
  var conventionalKeyEnvironmentVariable: String? { base.conventionalKeyEnvironmentVariable }
  var requiresKey: Bool { base.requiresKey }

  func complete(_ call: ProviderCall, onDelta: DeltaHandler?) async throws -> ProviderResponse {
    guard let trace = RequestTrace.current else { return try await base.complete(call, onDelta: onDelta) }
    var call = call
    let slot = trace.beginAttempt(&call, provider: base.name)
    do {
      let response = try await base.complete(call, onDelta: onDelta)
      trace.endAttempt(slot, response: response)
      return response
    } catch {
      trace.endAttempt(slot, response: nil)
      throw error
    }
  }
}
