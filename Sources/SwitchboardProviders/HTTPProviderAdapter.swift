import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import SwitchboardCore

/// Runs any `ProviderDialect` over HTTP, enforcing the attempt's limits on the
/// real clock and mapping every outcome onto a `ProviderFailure`. Providers go over
/// the shared `LeanHTTPClient` when one is given (the daemon's default: measured
/// cheaper per request, see bench/README.md), `https://` ones with TLS verified as
/// `tls` says (system roots, plus a provider's own CA); without a lean client every
/// provider goes over the shared AsyncHTTPClient `HTTPClient`. Both feed the same
/// event loop below, so limits and classification do not depend on the client.
///
/// Limits, one meaning each:
/// - `connect` runs until the request head is written;
/// - unary: nothing else but the attempt deadline (`attempt_ms`, or the request's
///   overall deadline when earlier). Real providers send the head of a
///   non-streamed answer only when the generation is done, so the first-token
///   limit never applies to a unary call;
/// - streamed: `firstToken` from the request to the first decoded content or
///   tool-call delta (a `message_start`, a role-only chunk, a `ping` or an SSE
///   comment is not a token); `idle` between content events (keep-alives never
///   restart it); while keep-alives arrive no more than `idle` apart, the gap
///   between content events may stretch up to `keepAliveCeiling`;
/// - the attempt deadline over everything.
public struct HTTPProviderAdapter<Dialect: ProviderDialect>: ProviderAdapter {
  /// The provider instance's name from the config.
  public let name: String
  /// The wire format.
  public let dialect: Dialect
  /// Catalog used for option translation (reasoning models, output limits).
  public let catalog: ModelCatalog
  /// Largest response body accepted (error, unary or whole stream), in bytes.
  public let maxResponseBytes: Int
  private let httpClient: HTTPClient
  private let leanClient: LeanHTTPClient?
  /// How `https://` is verified; nil: the system roots (the lean client's default context).
  private let tls: ProviderTLS?
  private let targets = LeanTargetCache()
  private let logger: Logger

  public var kind: String { dialect.kind }
  public var conventionalKeyEnvironmentVariable: String? { dialect.conventionalKeyEnvironmentVariable }
  public var requiresKey: Bool { dialect.requiresKey }

  /// Creates an adapter. `httpClient` (and `leanClient`, which serves `http://` and
  /// `https://` URLs when given) are shared by every adapter and outlive them.
  public init(name: String, dialect: Dialect, httpClient: HTTPClient, leanClient: LeanHTTPClient? = nil,
              tls: ProviderTLS? = nil, catalog: ModelCatalog = ModelCatalog(),
              maxResponseBytes: Int = 32 << 20, logger: Logger = HTTPProviderAdapterDefaults.logger) {
    self.name = name; self.dialect = dialect; self.httpClient = httpClient; self.leanClient = leanClient
    self.tls = tls
    self.catalog = catalog
    self.maxResponseBytes = maxResponseBytes; self.logger = logger
  }

  public func complete(_ call: ProviderCall, onDelta: DeltaHandler?) async throws -> ProviderResponse {
    if dialect.requiresKey, call.apiKey?.isEmpty ?? true {
      throw ProviderFailure(.missingKey, message: "no API key for provider '\(name)'")
    }
    let info = catalog.info(for: CandidateRef(provider: name, model: call.model))
    let options = dialect.translateOptions(call.request, model: call.model, info: info)
    let streaming = onDelta != nil
    let prepared = try dialect.prepareRequest(call, options: options, stream: streaming)
    var headers = prepared.headers
    Self.addTraceContext(call, to: &headers)
    var leanTarget = leanClient == nil ? nil : targets.target(prepared.url)
    if let target = leanTarget, target.isHTTPS {
      // The provider's own trust, or the client's shared context of the system roots
      // (should that fail to build, AsyncHTTPClient serves the call).
      leanTarget?.tls = tls?.context ?? leanClient?.defaultTLSContext
      if leanTarget?.tls == nil { leanTarget = nil }
    }
    var request: HTTPClient.Request?
    if leanTarget == nil {
      do {
        request = try HTTPClient.Request(url: prepared.url, method: .POST, headers: headers,
                                         body: .byteBuffer(prepared.body))
        if let tls, tls.hasExtraRoots { request?.tlsConfiguration = tls.configuration }
      } catch {
        throw ProviderFailure(.invalidRequest, message: "invalid provider URL for '\(name)': \(error)")
      }
    }

    let deadlineReason: ReasonCode = call.limits.deadlineIsOverall ? .deadlineExceeded : .timeout
    let remaining = call.limits.deadline.duration(since: call.clock.now())
    guard remaining > .zero else {
      throw ProviderFailure(deadlineReason, message: "no time left for the attempt", silent: true)
    }
    var metadata: Logger.Metadata = ["provider.name": "\(name)", "provider.model": "\(call.model)",
                                     "attempt": .stringConvertible(call.attempt)]
    if !call.requestID.isEmpty { metadata["request.id"] = "\(call.requestID)" }
    if let tp = call.traceParent { metadata["trace.id"] = "\(Self.traceID(ofTraceParent: tp))" }
    logger.debug("provider attempt", metadata: metadata)

    let events = AttemptEventQueue()
    let watchdog = AttemptWatchdog(eventLoop: httpClient.eventLoopGroup.next()) { limit in
      events.yield(.limit(limit))
    }
    let start = NIODeadline.now()
    let deadline = start + TimeAmount(remaining), connectLimit = TimeAmount(call.limits.connect)
    let sink = AttemptEventSink(events: events, watchdog: watchdog)
    let cancel: @Sendable () -> Void
    var leanTask: LeanHTTPTask?
    if let leanClient, let leanTarget {
      // The deadline is absolute (from `start`); the lean client reports where the
      // request stands as it takes it, on the connection's event loop when one is
      // idle, so the timer costs no wake-up. The connect limit runs only while a
      // connection is being opened for the request: a wait in the daemon's own
      // queue (every connection to the host busy) is not the provider's to answer for.
      let task = leanClient.post(leanTarget, headers: headers, body: prepared.body,
                                 onPhase: { phase in
                                   switch phase {
                                   case .writing: watchdog.start(deadline: deadline, connect: nil)
                                   case .waiting: watchdog.set(.deadline, deadline)
                                   case .connecting: watchdog.start(deadline: deadline, connect: .now() + connectLimit)
                                   }
                                 },
                                 onEvent: { sink($0) })
      cancel = { task.cancel() }
      leanTask = task
    } else {
      let connectBy = start + connectLimit
      watchdog.start(deadline: deadline, connect: connectBy)
      let task = httpClient.execute(request: request!, delegate: EventDelegate(sink), eventLoop: .indifferent,
                                    deadline: nil, logger: logger)
      cancel = { task.cancel() }
    }
    defer {
      watchdog.stop()
      cancel()  // no-op once the response has ended; closes the connection otherwise
    }
    var run = AttemptRun(adapter: self, call: call, options: options, onDelta: onDelta,
                         deadlineReason: deadlineReason, watchdog: watchdog, leanTask: leanTask,
                         decoder: streaming ? dialect.makeStreamDecoder(model: call.model) : nil)
    do {
      while let event = await events.next() {
        if let response = try await run.handle(event) {
          if run.answeredWhole, let onDelta {
            if !response.content.isEmpty { try await onDelta(.text(response.content)) }
            for (i, tc) in response.toolCalls.enumerated() {
              try await onDelta(.toolCall(index: i, id: tc.id, name: tc.name, argumentsDelta: tc.argumentsJSON))
            }
          }
          logger.debug("provider attempt succeeded", metadata: metadata)
          return response
        }
      }
      try Task.checkCancellation()
      throw ProviderFailure(.connectionReset, message: "the HTTP client ended the attempt without an answer",
                            afterHeaders: run.head != nil)
    } catch var failure as ProviderFailure {
      failure.message = redact(failure.message, key: call.apiKey)
      metadata["failure.reason"] = "\(failure.reason)"
      logger.debug("provider attempt failed", metadata: metadata)
      throw failure
    }
  }

  /// Replaces the key, should a provider echo it, with its fingerprint.
  func redact(_ message: String, key: Secret?) -> String {
    guard let key, !key.isEmpty else { return message }
    let raw = key.reveal()
    return message.contains(raw) ? message.replacingOccurrences(of: raw, with: key.fingerprint) : message
  }
}

/// Defaults of `HTTPProviderAdapter`.
public enum HTTPProviderAdapterDefaults {
  /// A logger that drops everything, for callers that pass none.
  public static let logger = Logger(label: "switchboard.providers", factory: { _ in SwiftLogNoOpLogHandler() })

  /// The `HTTPClient` configuration the adapters are designed for: connection
  /// failures fail the waiting request at once (so `connect_failed` is prompt and
  /// the router fails over) instead of being retried until the deadline; no
  /// redirects; a connect backstop of 10 s (the per-call limit is enforced by
  /// the adapter).
  /// `maxConnectionsPerHost`: HTTP/1.1 connections kept per provider host. Calls
  /// beyond it wait for a free connection, so it must not be below the calls the
  /// daemon admits (AsyncHTTPClient's default of 8 queued the 9th concurrent call to
  /// a plain-HTTP provider behind a whole generation). HTTP/2 providers multiplex.
  public static func clientConfiguration(maxConnectionsPerHost: Int = 8) -> HTTPClient.Configuration {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(1, maxConnectionsPerHost)
    configuration.redirectConfiguration = .disallow
    configuration.timeout = .init(connect: .seconds(10))
    configuration.connectionPool.retryConnectionEstablishment = false
    configuration.connectionPool.idleTimeout = .seconds(60)
    return configuration
  }
}

/// The state of one attempt while its events arrive.
struct AttemptRun<Dialect: ProviderDialect> {
  let adapter: HTTPProviderAdapter<Dialect>
  let call: ProviderCall
  let options: TranslatedOptions
  let onDelta: DeltaHandler?
  let deadlineReason: ReasonCode
  let watchdog: AttemptWatchdog
  /// The lean client's request, if it runs on one (it tells whether it still waits
  /// in the client's queue for a connection).
  let leanTask: LeanHTTPTask?
  var decoder: Dialect.StreamDecoder?

  var requestSent = false
  var head: HTTPResponseHead?
  var body = ByteBuffer()
  var received = 0
  var parser = ServerSentEventParser()
  var eventsSeen = 0
  /// Content events (text or tool-call deltas) decoded so far.
  var contentEvents = 0
  /// When the last content event arrived.
  var lastContent: NIODeadline?
  var terminated = false
  /// Whether the body is read whole (unary, an error answer, or a JSON answer to a stream request).
  var collecting = true

  init(adapter: HTTPProviderAdapter<Dialect>, call: ProviderCall, options: TranslatedOptions, onDelta: DeltaHandler?,
       deadlineReason: ReasonCode, watchdog: AttemptWatchdog, leanTask: LeanHTTPTask? = nil,
       decoder: Dialect.StreamDecoder?) {
    self.adapter = adapter; self.call = call; self.options = options; self.onDelta = onDelta
    self.deadlineReason = deadlineReason; self.watchdog = watchdog; self.leanTask = leanTask; self.decoder = decoder
  }

  private var status: Int { Int(head?.status.code ?? 0) }
  private var isSuccess: Bool { (200..<300).contains(status) }

  /// Handles one event; returns the response once the attempt succeeded.
  mutating func handle(_ event: AttemptEvent) async throws -> ProviderResponse? {
    switch event {
    case .requestSent:
      requestSent = true
      watchdog.set(.connect, nil)
      // Unary: bounded by the attempt deadline only (the head comes when the generation is done).
      if decoder != nil { watchdog.set(.firstToken, .now() + TimeAmount(call.limits.firstToken)) }
      return nil

    case .head(let h):
      head = h
      watchdog.set(.connect, nil)
      let eventStream = h.headers.first(name: "content-type").map(ServerSentEventParser.isEventStream) ?? false
      collecting = decoder == nil || !isSuccess || !eventStream
      if collecting { watchdog.set(.firstToken, nil) }  // the rest of a whole body is bounded by the deadline
      return nil

    case .body(let part):
      received += part.readableBytes
      if received > adapter.maxResponseBytes {
        throw ProviderFailure(.invalidResponse, httpStatus: status,
                              message: "response larger than \(adapter.maxResponseBytes) bytes", afterHeaders: true)
      }
      if collecting {
        var part = part
        body.writeBuffer(&part)
        return nil
      }
      return try await consumeStream(part)

    case .end:
      return try finish()

    case .failed(let error):
      return try failed(error)

    case .limit(let limit):
      return try limitPassed(limit)
    }
  }

  private mutating func consumeStream(_ part: ByteBuffer) async throws -> ProviderResponse? {
    let events: [ServerSentEvent]
    do {
      events = try parser.feed(part)
    } catch {
      throw ProviderFailure(.invalidResponse, httpStatus: status, message: "server-sent event line too long",
                            afterHeaders: true)
    }
    if parser.commentsSeen > 0 {
      parser.commentsSeen = 0
      keepAlive()
    }
    for event in events {
      eventsSeen += 1
      guard !terminated else { continue }  // nothing counts after the terminator
      let step: StreamStep
      do {
        step = try decoder!.decode(event)
      } catch let f as ProviderFailure {
        throw f
      } catch {
        throw ProviderFailure(.invalidResponse, httpStatus: status, message: "malformed stream event: \(error)",
                              afterHeaders: true)
      }
      if step.deltas.isEmpty {
        keepAlive()  // message_start, ping, role-only chunks, block stops: not tokens
      } else {
        if contentEvents == 0 { watchdog.set(.firstToken, nil) }
        contentEvents += 1
        let now = NIODeadline.now()
        lastContent = now
        watchdog.set(.idle, now + TimeAmount(call.limits.idle))
      }
      if let onDelta { for delta in step.deltas { try await onDelta(delta) } }
      if step.terminated { terminated = true }
    }
    return nil
  }

  /// A keep-alive (SSE comment or an event without content). Before the first
  /// token it changes nothing; after it, it can stretch the idle limit up to the
  /// keep-alive ceiling, never past it, and never restarts `idle` by itself.
  private func keepAlive() {
    guard let lastContent, let ceiling = call.limits.keepAliveCeiling, ceiling > call.limits.idle else { return }
    let limit = min(NIODeadline.now() + TimeAmount(call.limits.idle), lastContent + TimeAmount(ceiling))
    watchdog.set(.idle, max(limit, lastContent + TimeAmount(call.limits.idle)))
  }

  private func withWarnings(_ response: ProviderResponse) -> ProviderResponse {
    var r = response
    r.warnings = options.warnings + r.warnings
    return r
  }

  private mutating func finish() throws -> ProviderResponse? {
    guard head != nil else {
      throw ProviderFailure(.connectionReset, message: "the connection closed before the response head")
    }
    if !isSuccess { throw httpFailure() }
    if !collecting {
      if terminated || decoder!.isComplete { return withWarnings(decoder!.response()) }
      throw ProviderFailure(.streamCut, httpStatus: status,
                            message: "the stream ended after \(eventsSeen) events without its terminator",
                            afterHeaders: true)
    }
    return withWarnings(try adapter.dialect.decodeResponse(body, model: call.model))
  }

  /// Whether a stream request was answered with a whole (JSON) body, which the
  /// adapter then delivers as deltas in one go.
  var answeredWhole: Bool { decoder != nil && collecting }

  private func failed(_ error: any Error) throws -> ProviderResponse? {
    let text = Self.describe(error)
    if Task.isCancelled { throw CancellationError() }
    guard requestSent || head != nil else {
      throw ProviderFailure(.connectFailed, message: "could not connect: \(text)")
    }
    guard head != nil else {
      throw ProviderFailure(.connectionReset, message: "the connection failed before the response head: \(text)")
    }
    if !isSuccess {
      // The error answer itself was cut; classify on what arrived.
      throw httpFailure()
    }
    if !collecting {
      if terminated || decoder!.isComplete { return withWarnings(decoder!.response()) }
      throw ProviderFailure(.streamCut, httpStatus: status,
                            message: "the stream was cut after \(eventsSeen) events: \(text)", afterHeaders: true)
    }
    throw ProviderFailure(.connectionReset, httpStatus: status, message: "the response body was cut: \(text)",
                          afterHeaders: true)
  }

  private func limitPassed(_ limit: AttemptWatchdog.Limit) throws -> ProviderResponse? {
    let ms = { (d: Duration) in "\(Int64(d.milliseconds))ms" }
    switch limit {
    case .connect:
      throw ProviderFailure(.connectFailed, message: "no connection within \(ms(call.limits.connect))", silent: true)
    case .firstToken:
      if terminated { return withWarnings(decoder!.response()) }  // an answer without content, e.g. a filtered one
      throw ProviderFailure(.firstTokenTimeout, httpStatus: head.map { _ in status },
                            message: "no content or tool-call delta within \(ms(call.limits.firstToken))",
                            afterHeaders: head != nil, silent: head == nil)
    case .idle:
      if terminated || decoder?.isComplete == true { return withWarnings(decoder!.response()) }
      throw ProviderFailure(.streamStalled, httpStatus: status,
                            message: "no content for \(ms(call.limits.idle)) (keep-alives do not count) after \(contentEvents) content events",
                            afterHeaders: true)
    case .deadline:
      if terminated || (eventsSeen > 0 && decoder?.isComplete == true) { return withWarnings(decoder!.response()) }
      if !requestSent, head == nil, leanTask?.isWaiting == true {
        // Nothing left the daemon: the request waited for one of its own connections.
        var f = ProviderFailure(deadlineReason, message: "the time limit passed while the request waited for a free "
                                  + "connection to the provider (every connection the daemon may open to it was busy)",
                                silent: true)
        f.local = true
        throw f
      }
      throw ProviderFailure(deadlineReason, httpStatus: head.map { _ in status },
                            message: deadlineReason == .deadlineExceeded
                              ? "the request's deadline passed" : "the attempt's time limit passed",
                            afterHeaders: head != nil, silent: head == nil)
    }
  }

  /// Classifies an HTTP error answer from its status, headers and body.
  private func httpFailure() -> ProviderFailure {
    let details = adapter.dialect.errorDetails(status: status, body: body)
    var reason = FailureClassifier.classify(httpStatus: status, errorCode: details.code, errorType: details.type,
                                            message: details.message)
    if call.prefill != nil, status == 400 {
      let text = (details.code + " " + details.message).lowercased()
      if text.contains("prefill") || text.contains("assistant") { reason = .prefillRejected }
    }
    var message = [details.type, details.code].filter { !$0.isEmpty }.joined(separator: "/")
    if !details.message.isEmpty { message += message.isEmpty ? details.message : ": " + details.message }
    if message.isEmpty { message = "HTTP \(status) \(head?.status.reasonPhrase ?? "")" }
    return ProviderFailure(reason, httpStatus: status, retryAfter: head.flatMap { RetryAfter.parse($0.headers) },
                           message: message, afterHeaders: true)
  }

  static func describe(_ error: any Error) -> String {
    if let e = error as? HTTPClientError { return e.shortDescription }
    if let e = error as? LeanHTTPClientError { return e.shortDescription }
    if let e = LeanHTTPClientError(tlsError: error) { return e.shortDescription }
    return String(describing: error).prefix(200).description
  }
}

extension TimeAmount {
  init(_ duration: Duration) {
    self = .nanoseconds(max(0, duration.nanoseconds))
  }
}
