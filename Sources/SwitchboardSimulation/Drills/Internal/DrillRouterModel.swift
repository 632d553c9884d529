import SwitchboardCore
import Synchronization

/// The `tiered-routing` drill's router model: a simulated classifier that plays a
/// script, one step per call — answer a text after a delay, or hang until the
/// call's deadline. Its time runs on the call's clock.
final class DrillRouterModel: ProviderAdapter {
  enum Step: Sendable {
    case answer(String, after: Duration)
    case hang
  }
  let name: String
  var kind: String { "simulated" }
  var conventionalKeyEnvironmentVariable: String? { nil }
  var requiresKey: Bool { false }
  private let state: Mutex<(script: [Step], calls: Int)>

  init(name: String, script: [Step]) {
    self.name = name
    state = Mutex((script, 0))
  }

  /// Calls made so far.
  var calls: Int { state.withLock { $0.calls } }

  func complete(_ call: ProviderCall, onDelta: DeltaHandler?) async throws -> ProviderResponse {
    let step: Step = state.withLock { s in
      s.calls += 1
      return s.script.isEmpty ? .hang : s.script.removeFirst()
    }
    let input = call.request.messages.reduce(0) { $0 + $1.content.utf8.count } / 4 + 8
    switch step {
    case .answer(let text, let after):
      let target = call.clock.now().advanced(by: after)
      if target > call.limits.deadline {
        try await call.clock.sleep(until: call.limits.deadline)
        throw ProviderFailure(.timeout, message: "simulated timeout", silent: true)
      }
      try await call.clock.sleep(until: target)
      return ProviderResponse(content: text, usage: Usage(inputTokens: input, outputTokens: TokenEstimator.estimateTokens(text)),
                              model: call.model)
    case .hang:
      try await call.clock.sleep(until: call.limits.deadline)
      throw ProviderFailure(.timeout, message: "simulated timeout", silent: true)
    }
  }
}
