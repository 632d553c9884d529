import Instrumentation
import Synchronization
import SwitchboardCore
import Tracing

/// The trace of one request while it runs: the request span (when tracing is on),
/// the attempt spans the provider decorator opens, and the trace context every
/// provider call carries. Bound to the request's task (`RequestTrace.current`);
/// attempts in child tasks (hedging) see it too.
final class RequestTrace: Sendable {
  @TaskLocal static var current: RequestTrace?

  /// One attempt span, open until the decision arrives with its attributes.
  struct AttemptSpan: Sendable {
    var index: Int
    var span: any Span
    var ended: DefaultTracerClock.Timestamp?
    var finishReason: FinishReason?
    var responseModel: String?
  }

  let tracer: (any Tracer)?
  let requestSpan: (any Span)?
  /// The trace id recorded with the decision; nil: not traced.
  let traceID: String?
  /// Without a tracer: the caller's context, forwarded to providers unchanged.
  let incoming: IncomingTraceContext?
  private let attempts = Mutex<[AttemptSpan]>([])

  init(tracer: (any Tracer)?, incoming: IncomingTraceContext?, operation: String) {
    self.tracer = tracer
    self.incoming = incoming
    guard let tracer else {
      requestSpan = nil
      traceID = incoming?.traceID
      return
    }
    var parent = InstrumentationContext.topLevel
    if let incoming {
      var headers = ["traceparent": incoming.traceParent]
      if let ts = incoming.traceState { headers["tracestate"] = ts }
      tracer.extract(headers, into: &parent, using: HeaderDictionaryExtractor())
    }
    let span = tracer.startSpan(operation, context: parent, ofKind: .server)
    requestSpan = span
    traceID = Self.headers(of: span.context, tracer: tracer)["traceparent"].flatMap(IncomingTraceContext.traceID(ofTraceParent:))
      ?? incoming?.traceID
  }

  /// The W3C headers `tracer` propagates for `context`.
  static func headers(of context: InstrumentationContext, tracer: any Tracer) -> [String: String] {
    var out: [String: String] = [:]
    tracer.inject(context, into: &out, using: HeaderDictionaryInjector())
    return out
  }

  /// Opens the span of an attempt (a child of the request span) and sets the
  /// call's trace context to it; returns the slot to end it with.
  func beginAttempt(_ call: inout ProviderCall, provider: String) -> Int? {
    guard let tracer, let requestSpan else {
      call.traceParent = incoming?.traceParent
      call.traceState = incoming?.traceState
      return nil
    }
    let span = tracer.startSpan("chat \(call.model)", context: requestSpan.context, ofKind: .client)
    span.updateAttributes { a in
      a["gen_ai.operation.name"] = "chat"
      a["gen_ai.provider.name"] = provider
      a["gen_ai.request.model"] = call.model
      a["switchboard.attempt.index"] = call.attempt
    }
    let headers = Self.headers(of: span.context, tracer: tracer)
    if let tp = headers["traceparent"], IncomingTraceContext.validate(tp) != nil {
      call.traceParent = tp
      call.traceState = headers["tracestate"]
    } else {
      call.traceParent = incoming?.traceParent
      call.traceState = incoming?.traceState
    }
    return attempts.withLock { list in
      list.append(AttemptSpan(index: call.attempt, span: span))
      return list.count - 1
    }
  }

  /// Marks the end of an attempt (its attributes come with the decision).
  func endAttempt(_ slot: Int?, response: ProviderResponse?) {
    guard let slot else { return }
    let now = DefaultTracerClock.now
    attempts.withLock { list in
      list[slot].ended = now
      list[slot].finishReason = response?.finishReason
      list[slot].responseModel = response.flatMap { $0.model.isEmpty ? nil : $0.model }
    }
  }

  /// Ends every span with what the decision says happened.
  func finish(_ event: DecisionEvent) {
    guard let requestSpan else { return }
    let now = DefaultTracerClock.now
    var open = attempts.withLock { list in defer { list.removeAll() }; return list }
    for record in event.attempts where record.outcome == .skipped {
      requestSpan.addEvent(SpanEvent(name: "switchboard.attempt.skipped", attributes: TraceAttributes.skipped(record)))
    }
    for record in event.attempts where record.outcome != .skipped {
      guard let i = open.firstIndex(where: { $0.index == record.index }) else { continue }
      let a = open.remove(at: i)
      a.span.updateAttributes { TraceAttributes.apply(record, finishReason: a.finishReason, responseModel: a.responseModel, to: &$0) }
      if record.outcome == .failed {
        a.span.setStatus(SpanStatus(code: .error, message: record.reason?.rawValue))
      }
      a.span.end(at: a.ended ?? now)
    }
    // An attempt the decision does not list (cancelled before it was recorded).
    for a in open {
      a.span.setStatus(SpanStatus(code: .error, message: "not_recorded"))
      a.span.end(at: a.ended ?? now)
    }
    requestSpan.updateAttributes { TraceAttributes.apply(event, to: &$0) }
    if event.outcome != .success {
      requestSpan.setStatus(SpanStatus(code: .error, message: event.reason?.rawValue ?? event.outcome.rawValue))
    }
    requestSpan.end(at: now)
  }
}
