import NIOCore
import NIOHTTP1

/// Serves one connection of the fake provider (HTTP/1.1 keep-alive).
final class FakeProviderHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  private let provider: FakeProvider
  private var head: HTTPRequestHead?
  private var body = ByteBuffer()
  private var scheduled: [Scheduled<Void>] = []

  init(provider: FakeProvider) { self.provider = provider }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let h):
      head = h
      body.clear()
    case .body(var part):
      body.writeBuffer(&part)
    case .end:
      if let head { respond(context: context, head: head) }
    }
  }

  func channelInactive(context: ChannelHandlerContext) {
    for s in scheduled { s.cancel() }
    scheduled.removeAll()
    context.fireChannelInactive()
  }

  // MARK: Routing

  private func respond(context: ChannelHandlerContext, head: HTTPRequestHead) {
    let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
    let format: FakeProvider.WireFormat =
      path.hasSuffix("/chat/completions") ? .openai : path.hasSuffix("/messages") ? .anthropic : .unknown
    let json = FakeJSON(data: Data(buffer: body)) ?? .null
    var model = json["model"]?.string ?? ""
    let parts = path.split(separator: "/")
    if let i = parts.firstIndex(of: "deployments"), i + 1 < parts.count { model = String(parts[i + 1]) }
    let stream = json["stream"]?.bool ?? false
    let fault = provider.record(uri: head.uri, path: path, format: format, model: model, headers: head.headers,
                                body: body, stream: stream)
    guard head.method == .POST, format != .unknown else {
      sendJSON(context, status: 404, body: FakeAnswer.errorBody(.openai, type: "invalid_request_error", code: "not_found",
                                                               message: "no route for \(head.method) \(path)"))
      return
    }
    var answer = FakeAnswer(format: format, model: model, request: json, bodyBytes: body.readableBytes,
                            configuration: provider.configuration)
    answer.filtered = fault == .contentFilterFinish
    if case .reply(let text) = fault { answer.pieces = [text] }
    let key = head.headers.first(name: "authorization")?.replacingOccurrences(of: "Bearer ", with: "")
      ?? head.headers.first(name: "x-api-key") ?? head.headers.first(name: "api-key") ?? ""

    switch fault {
    case .ok, .slowFirstToken, .streamCut, .stall, .keepAlivesOnly, .malformedChunk, .missingTerminator, .streamError,
         .contentFilterFinish, .reply:
      answerNormally(context, answer: answer, stream: stream, fault: fault)
    case .rejectPrefill:
      if answer.endsWithAssistant {
        sendJSON(context, status: 400, body: FakeAnswer.errorBody(format, type: "invalid_request_error", code: "",
          message: "This model does not support assistant message prefill. The conversation must end with a user message."))
      } else {
        answerNormally(context, answer: answer, stream: stream, fault: .ok)
      }
    case .status(let status, let text, let retryAfter):
      let body = text ?? FakeAnswer.errorBody(format, type: status >= 500 ? "api_error" : "invalid_request_error",
                                              code: "", message: "fake error \(status)")
      sendJSON(context, status: status, body: body, headers: retryAfter.map { [("retry-after", $0)] } ?? [])
    case .rateLimited(let retryAfter):
      sendJSON(context, status: 429, body: FakeAnswer.errorBody(format, type: format == .anthropic ? "rate_limit_error" : "requests",
                                                               code: "rate_limit_exceeded", message: "Rate limit reached for \(model)"),
               headers: [("retry-after", retryAfter)])
    case .contextLengthExceeded:
      sendJSON(context, status: 400, body: format == .anthropic
        ? FakeAnswer.errorBody(format, type: "invalid_request_error", code: "", message: "prompt is too long: 250000 tokens > 200000 maximum")
        : FakeAnswer.errorBody(format, type: "invalid_request_error", code: "context_length_exceeded",
                               message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 250000 tokens."))
    case .contentPolicy:
      sendJSON(context, status: 400, body: FakeAnswer.errorBody(format, type: "invalid_request_error", code: "content_policy_violation",
        message: "Your request was rejected as a result of our safety system."))
    case .unauthorized:
      sendJSON(context, status: 401, body: FakeAnswer.errorBody(format, type: format == .anthropic ? "authentication_error" : "invalid_request_error",
                                                               code: "invalid_api_key", message: "Incorrect API key provided: \(key)."))
    case .modelNotFound:
      sendJSON(context, status: 404, body: format == .anthropic
        ? FakeAnswer.errorBody(format, type: "not_found_error", code: "", message: "model: \(model)")
        : FakeAnswer.errorBody(format, type: "invalid_request_error", code: "model_not_found",
                               message: "The model `\(model)` does not exist or you do not have access to it."))
    case .hang:
      break  // keep the connection open, say nothing
    case .resetBeforeHeaders:
      context.close(promise: nil)
    }
  }

  // MARK: Writing

  private func sendJSON(_ context: ChannelHandlerContext, status: Int, body: String, headers extra: [(String, String)] = [],
                        close: Bool = false) {
    var headers = HTTPHeaders([("content-type", "application/json"), ("content-length", String(body.utf8.count))])
    for (n, v) in extra { headers.add(name: n, value: v) }
    if close { headers.add(name: "connection", value: "close") }
    context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers))),
                  promise: nil)
    context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
    if close {
      context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    } else {
      context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
  }

  private func after(_ context: ChannelHandlerContext, _ delay: Duration, _ body: @escaping () -> Void) {
    if delay <= .zero { body(); return }
    let task = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(delay.components.seconds) * 1_000_000_000
                                                                          + delay.components.attoseconds / 1_000_000_000)) { body() }
    scheduled.append(task)
  }

  private func answerNormally(_ context: ChannelHandlerContext, answer: FakeAnswer, stream: Bool, fault: FakeFault) {
    var firstDelay = Duration.zero
    if case .slowFirstToken(let ms) = fault { firstDelay = .milliseconds(ms) }
    guard stream else {
      let body = answer.unaryBody()
      if case .streamCut = fault {
        let headers = HTTPHeaders([("content-type", "application/json"), ("content-length", String(body.utf8.count))])
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        let half = String(body.prefix(body.count / 2))
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: half))))).assumeIsolated()
          .whenComplete { _ in context.close(promise: nil) }
        return
      }
      after(context, firstDelay) { self.sendJSON(context, status: 200, body: body) }
      return
    }
    let headers = HTTPHeaders([("content-type", "text/event-stream"), ("cache-control", "no-cache")])
    context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
    var frames = answer.streamEvents()
    let terminator = frames.removeLast()
    if fault != .missingTerminator { frames.append(terminator) }
    // The events before the first content delta are sent at once; the generation
    // delay (with keep-alives) comes before the first content.
    let preamble = frames.prefix { !Self.hasContent($0) }.count
    play(context, frames: frames, index: 0, fault: fault, delay: .zero, firstContent: preamble, firstDelay: firstDelay)
  }

  /// Whether an SSE event carries text or a tool call (what a client counts as a token).
  static func hasContent(_ frame: String) -> Bool {
    frame.contains("\"text_delta\"") || frame.contains("\"input_json_delta\"") || frame.contains("\"tool_use\"")
      || frame.contains("\"tool_calls\"") || (frame.contains("\"content\":\"") && !frame.contains("\"content\":\"\""))
  }

  private func keepAliveText(_ frames: [String]) -> String {
    formatOf(frames) == .anthropic ? "event: ping\ndata: {\"type\": \"ping\"}\n\n" : ": keep-alive\n\n"
  }

  /// Waits `delay` on the event loop, sending a keep-alive every `keepAliveInterval` meanwhile.
  private func waitWithKeepAlives(_ context: ChannelHandlerContext, _ delay: Duration, frames: [String],
                                  _ body: @escaping () -> Void) {
    let interval = provider.configuration.keepAliveInterval
    guard interval > .zero, delay > interval else { after(context, delay, body); return }
    after(context, interval) {
      guard context.channel.isActive else { return }
      self.writeEvent(context, self.keepAliveText(frames))
      self.waitWithKeepAlives(context, delay - interval, frames: frames, body)
    }
  }

  private func play(_ context: ChannelHandlerContext, frames: [String], index: Int, fault: FakeFault, delay: Duration,
                    firstContent: Int, firstDelay: Duration) {
    let generating = index == firstContent && firstDelay > .zero
    let step: (@escaping () -> Void) -> Void = generating
      ? { self.waitWithKeepAlives(context, firstDelay, frames: frames, $0) } : { self.after(context, delay, $0) }
    step {
      guard context.channel.isActive else { return }
      switch fault {
      case .streamCut(let n) where index == n:
        context.close(promise: nil); return
      case .stall(let n) where index == n:
        return  // silent, connection open
      case .keepAlivesOnly(let n) where index == n:
        self.waitWithKeepAlives(context, .seconds(3600), frames: frames) {}
        return
      case .malformedChunk(let n) where index == n:
        self.writeEvent(context, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"oops\"\n\n")
      case .streamError(let n) where index == n:
        self.writeEvent(context, FakeAnswer.streamErrorEvent(context: self.formatOf(frames)))
        context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        return
      default: break
      }
      guard index < frames.count else {
        if fault == .missingTerminator {
          context.writeAndFlush(self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
          context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
        }
        return
      }
      self.writeEvent(context, frames[index])
      self.play(context, frames: frames, index: index + 1, fault: fault, delay: self.provider.configuration.chunkInterval,
                firstContent: firstContent, firstDelay: firstDelay)
    }
  }

  private func formatOf(_ frames: [String]) -> FakeProvider.WireFormat {
    frames.first?.hasPrefix("event:") == true ? .anthropic : .openai
  }

  private func writeEvent(_ context: ChannelHandlerContext, _ text: String) {
    context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
  }
}

import struct Foundation.Data

extension Data {
  init(buffer: ByteBuffer) { self.init(buffer.readableBytesView) }
}
