import SwitchboardCore
import Synchronization

extension Drills {
  /// A stream cut part-way under each `on_stream_failure`, and a failure before the first chunk.
  @Sendable static func streamCut(_ options: DrillOptions) async throws -> DrillReport {
    var timeline: [String] = []
    var checks = DrillChecks()
    for policy in [StreamFailurePolicy.restart, .continue, .error] {
      let (world, outcome, events) = try await streamOnce(policy: policy, fault: "stream_cut", options: options)
      timeline.append("scenario on_stream_failure=\(policy.rawValue) fault=stream_cut")
      timeline += world.lines(outcome)
      timeline += events.timeline
      let firstDeltas = events.deltas.filter { $0.attempt == 1 }
      checks.expect(!firstDeltas.isEmpty, "[\(policy.rawValue)] the client saw part of the answer before the cut")
      switch policy {
      case .restart:
        let r = try? outcome.result.get()
        checks.expect(r != nil, "[restart] the request succeeds on the fallback")
        checks.expect(events.restarts.count == 1 && events.restarts.first?.failed == DrillWorld.primary,
                      "[restart] exactly one StreamRestart names the failed candidate", "\(events.restarts.count)")
        checks.expect(events.afterLastRestart == r?.response.content, "[restart] after the restart the client holds exactly the final answer")
        checks.expect(world.providers["sim-b"]?.calls.last?.prefill == false, "[restart] the fallback starts afresh (no prefill)")
      case .continue:
        let r = try? outcome.result.get()
        checks.expect(r != nil, "[continue] the request succeeds on the fallback")
        checks.expect(events.restarts.isEmpty, "[continue] no StreamRestart is sent", "\(events.restarts.count)")
        checks.expect(world.providers["sim-b"]?.calls.last?.prefill == true, "[continue] the fallback continues from the delivered text (prefill)")
        checks.expect(events.all == r?.response.content, "[continue] what the client holds is the final answer",
                      "client=\(events.all.debugDescription) final=\((r?.response.content ?? "nil").debugDescription)")
      case .error:
        if case .failure(let e) = outcome.result {
          checks.expect(e.reason == .streamCut, "[error] the terminal status carries reason stream_cut", e.reason.rawValue)
        } else {
          checks.expect(false, "[error] a truncated answer is never reported as success")
        }
        checks.expect(outcome.event.outcome == .failed, "[error] the decision event records a failure")
        checks.expect(world.providers["sim-b"]?.calls.isEmpty == true, "[error] no other candidate is tried")
      }
    }
    // A failure before the first chunk fails over invisibly.
    let (world, outcome, events) = try await streamOnce(policy: .error, fault: "connection_reset_then_more", options: options)
    timeline.append("scenario on_stream_failure=error fault=connect_failed (before the first chunk)")
    timeline += world.lines(outcome)
    timeline += events.timeline
    checks.expect((try? outcome.result.get()) != nil, "[before first chunk] the request succeeds even under on_stream_failure=error")
    checks.expect(events.restarts.isEmpty && events.deltas.allSatisfy { $0.ref == DrillWorld.fallback },
                  "[before first chunk] the client sees only the fallback's stream, no restart")
    return DrillReport(name: "stream-cut", timeline: timeline, violations: checks.violations, checks: checks.checks)
  }

  static func streamOnce(policy: StreamFailurePolicy, fault: String, options: DrillOptions) async throws
    -> (DrillWorld, RoutedOutcome, StreamRecorder)
  {
    var route = DrillWorld.route()
    route.onStreamFailure = policy
    let world = DrillWorld(
      route: route,
      providers: [
        DrillWorld.provider("sim-a", seed: options.seed) {
          if fault == "stream_cut" { $0.script = [.init("stream_cut")] } else { $0.downWindows = [.zero ..< .seconds(60)] }
        },
        DrillWorld.provider("sim-b", seed: options.seed &+ 1),
      ],
      circuit: options.circuit ?? DrillWorld.defaultCircuit)
    let recorder = StreamRecorder(clock: world.clock)
    let router = world.router
    let outcome = try await world.driver.run {
      await router.complete(DrillWorld.request(0, stream: true), sink: recorder.sink)
    }
    return (world, outcome, recorder)
  }
}

/// A client as a drill sees it: every delta and restart, in order.
final class StreamRecorder: Sendable {
  struct Delta: Sendable { var attempt: Int; var ref: CandidateRef; var text: String; var at: Double }
  struct S: Sendable {
    var deltas: [Delta] = []
    var restarts: [StreamRestartInfo] = []
    var held = ""
    var timeline: [String] = []
  }
  let state = Mutex(S())
  let clock: VirtualClock
  init(clock: VirtualClock) { self.clock = clock }

  var sink: CompletionSink {
    let clock = self.clock
    return CompletionSink(
      onDelta: { delta, attempt, ref in
        guard case .text(let t) = delta else { return }
        let at = clock.now().duration(since: Instant(nanoseconds: 0)).milliseconds
        self.state.withLock { s in
          s.deltas.append(Delta(attempt: attempt, ref: ref, text: t, at: at))
          s.held += t
          if s.deltas.count == 1 || s.deltas[s.deltas.count - 2].attempt != attempt {
            s.timeline.append("t=\(fmt(at))ms client first_chunk attempt=\(attempt) provider=\(ref)")
          }
        }
      },
      onRestart: { info in
        let at = clock.now().duration(since: Instant(nanoseconds: 0)).milliseconds
        self.state.withLock { s in
          s.restarts.append(info)
          s.timeline.append("t=\(fmt(at))ms client stream_restart reason=\(info.reason) failed=\(info.failed) next=\(info.next) discarded_chars=\(s.held.count)")
          s.held = ""
        }
      })
  }
  var deltas: [Delta] { state.withLock { $0.deltas } }
  var restarts: [StreamRestartInfo] { state.withLock { $0.restarts } }
  /// What the client holds now (text since the last restart).
  var afterLastRestart: String { state.withLock { $0.held } }
  /// Every delta's text concatenated.
  var all: String { state.withLock { $0.deltas.map(\.text).joined() } }
  var timeline: [String] { state.withLock { $0.timeline } }
}
