import AsyncAlgorithms
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import Synchronization
import SwitchboardCore
import SwitchboardDaemon

/// One `stream: true` request as Server-Sent Events in OpenAI's chunk format.
///
/// The HTTP status is decided when the first delta arrives or the request ends:
/// a failure before any chunk is an ordinary OpenAI error response (so the SDK
/// raises its usual exception type); after the first chunk the answer cannot be
/// restarted for an OpenAI client (`streamRestartAllowed = false`: the executor
/// continues with prefill where it can), and a failure ends the stream with one
/// terminal `data: {"error": …}` event and no `[DONE]`.
///
/// Backpressure: the router's deltas go through an `AsyncChannel`, so a client
/// that reads slowly slows the provider stream down instead of filling memory;
/// one that stops reading for `write_timeout` has its connection closed, and
/// that cancels the request.
struct OpenAIStream {
  let endpoint: OpenAIEndpoint
  let request: ChatRequest
  let context: SwitchboardCore.RequestContext
  /// The caller's W3C trace context, when it sent a valid one.
  let incoming: IncomingTraceContext?
  let includeUsage: Bool
  let channel: any Channel
  let started: ContinuousClock.Instant

  enum Event: Sendable {
    case data(String)
    case done(RoutedOutcome)
  }

  func run() async -> Response {
    let events = AsyncChannel<Event>()
    let id = OpenAIResponseEncoding.completionID(context.issuedRequestID ?? "")
    let created = OpenAIEndpoint.created()
    let includeUsage = self.includeUsage
    let first = LockedValue(true)
    let sink = CompletionSink(
      onDelta: { delta, _, ref in
        let isFirst = first.withLock { f in defer { f = false }; return f }
        let json = OpenAIResponseEncoding.deltaChunk(id: id, created: created, model: ref.description,
                                                     delta: OpenAIResponseEncoding.delta(delta, first: isFirst),
                                                     finish: nil, usageNull: includeUsage)
        await events.send(.data(OpenAIResponseEncoding.sse(json)))
        try Task.checkCancellation()
      },
      onRestart: { _ in
        // Never sent: streamRestartAllowed is false for OpenAI clients.
        throw CancellationError()
      })
    let router = endpoint.runtime.router
    let recorder = endpoint.runtime.recorder
    let tracer = endpoint.runtime.tracer
    let incoming = self.incoming
    let routeName = request.route ?? request.explicitTarget?.description ?? ""
    // The trace id is known once routing starts, before the first chunk: for the headers.
    let traceID = LockedValue<String?>(nil)
    let chat = request, ctx = context, started = self.started
    let channel = self.channel
    // The request is cancelled when the client hangs up, at any point; `finish`
    // then wakes whoever waits for an event.
    let routing = Task {
      await cancellingOnClose(channel) {
        let outcome = await tracer.traced(route: routeName, context: ctx, incoming: incoming) { ctx in
          traceID.withLock { $0 = ctx.traceID }
          return await router.complete(chat, context: ctx, sink: sink)
        }
        recorder.record(outcome.event, started: started)
        await events.send(.done(outcome))
      }
      events.finish()
      recorder.metrics.httpInFlight(-1)  // taken by OpenAIEndpoint.chatCompletions
    }

    var firstIterator = events.makeAsyncIterator()
    guard let firstEvent = await firstIterator.next() else {
      routing.cancel()
      return OpenAIEndpoint.errorResponse(OpenAIError(status: 499, type: "server_error", code: "cancelled", message: "client closed the connection"))
    }
    if case .done(let outcome) = firstEvent, case .failure(let e) = outcome.result {
      var headers = OpenAIEndpoint.decisionHeaders(outcome.event, traceparent: incoming?.traceParent)
      return OpenAIEndpoint.errorResponse(OpenAIError.from(e, wallMillis: router.clock.wallMillis()), headers: &headers)
    }

    var headers = HTTPFields()
    headers[.contentType] = "text/event-stream"
    headers[.cacheControl] = "no-cache"
    headers[OpenAIEndpoint.requestIDHeader] = context.issuedRequestID
    if let tp = incoming?.traceParent { headers[OpenAIEndpoint.traceparentHeader] = tp }
    if let t = traceID.withLock({ $0 }) { headers[OpenAIEndpoint.traceIDHeader] = t }
    let writeTimeout = endpoint.settings.writeTimeout
    let body = ResponseBody { writer in
      // Pending-write watchdog: a client that stops reading is disconnected.
      let pendingSince = LockedValue<ContinuousClock.Instant?>(nil)
      let watchdog = Task {
        while !Task.isCancelled {
          try? await Task.sleep(for: .milliseconds(500))
          if let since = pendingSince.withLock({ $0 }), ContinuousClock.now - since > writeTimeout {
            channel.close(promise: nil)
            return
          }
        }
      }
      defer { watchdog.cancel() }
      func write(_ s: String) async throws {
        pendingSince.withLock { $0 = .now }
        try await writer.write(ByteBuffer(string: s))
        pendingSince.withLock { $0 = nil }
      }
      do {
        var next: Event? = firstEvent
        var iterator = events.makeAsyncIterator()
        while let e = next {
          switch e {
          case .data(let s):
            try await write(s)
          case .done(let outcome):
            try await write(Self.ending(outcome, id: id, created: created, includeUsage: includeUsage,
                                        wallMillis: router.clock.wallMillis()))
          }
          next = await iterator.next()
        }
        try await writer.finish(nil)
      } catch {
        routing.cancel()
        _ = await routing.value
        throw error
      }
    }
    return Response(status: .ok, headers: headers, body: body)
  }

  /// The end of a stream: finish chunk (+ usage chunk) and `[DONE]`, or the terminal error event.
  static func ending(_ outcome: RoutedOutcome, id: String, created: Int64, includeUsage: Bool, wallMillis: Int64) -> String {
    switch outcome.result {
    case .success(let r):
      let model = r.served.description
      var out = OpenAIResponseEncoding.sse(OpenAIResponseEncoding.finishChunk(
        id: id, created: created, model: model, finish: OpenAIResponseEncoding.finishReason(r.response.finishReason),
        event: outcome.event, usageNull: includeUsage))
      if includeUsage {
        out += OpenAIResponseEncoding.sse(OpenAIResponseEncoding.usageChunk(id: id, created: created, model: model, usage: r.response.usage))
      }
      out += "data: [DONE]\n\n"
      return out
    case .failure(let e):
      // Mid-stream: the client holds part of an answer that cannot be completed.
      return OpenAIResponseEncoding.sse(OpenAIError.from(e, wallMillis: wallMillis).json)
    }
  }
}
