import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import SwitchboardCore
import SwitchboardDaemon
import SwitchboardWire

/// The OpenAI-compatible API over the daemon's router: `POST /v1/chat/completions`
/// (unary and SSE) and `GET /v1/models`. Every completion goes through the same
/// `Router.complete` as the socket and is recorded by the same `DecisionRecorder`,
/// so `switchboard explain ID` works alike.
final class OpenAIEndpoint: Sendable {
  let runtime: DaemonRuntime
  let settings: HTTPSettings
  let identity: HTTPIdentity
  let logger: Logger

  init(runtime: DaemonRuntime, settings: HTTPSettings, identity: HTTPIdentity, logger: Logger) {
    self.runtime = runtime; self.settings = settings; self.identity = identity; self.logger = logger
  }

  static let requestIDHeader = HTTPField.Name("x-switchboard-request-id")!
  static let providerHeader = HTTPField.Name("x-switchboard-provider")!
  static let modelHeader = HTTPField.Name("x-switchboard-model")!
  static let attemptsHeader = HTTPField.Name("x-switchboard-attempts")!
  static let costHeader = HTTPField.Name("x-switchboard-cost-usd")!
  static let decisionHeader = HTTPField.Name("x-switchboard-decision")!
  static let tenantHeader = HTTPField.Name("x-switchboard-tenant")!
  static let tagsHeader = HTTPField.Name("x-switchboard-tags")!
  static let clientRequestIDHeader = HTTPField.Name("x-request-id")!
  static let traceparentHeader = HTTPField.Name("traceparent")!
  static let tracestateHeader = HTTPField.Name("tracestate")!
  static let traceIDHeader = HTTPField.Name("x-switchboard-trace-id")!
  static let shouldRetryHeader = HTTPField.Name("x-should-retry")!

  func respond(_ request: Request, _ context: HTTPRequestContext) async -> Response {
    let path = request.uri.path
    switch (request.method, path) {
    case (.post, "/v1/chat/completions"): return await chatCompletions(request, context)
    case (.get, "/v1/models"):
      do {
        _ = try await identify(request, context)
        return models()
      } catch { return Self.errorResponse(error) }
    case (_, "/v1/chat/completions"), (_, "/v1/models"):
      return Self.errorResponse(OpenAIError(status: 405, type: "invalid_request_error", code: "method_not_allowed",
                                            message: "method not allowed on this path", shouldRetry: false))
    default:
      return Self.errorResponse(OpenAIError(status: 404, type: "invalid_request_error", code: "unknown_url",
                                            message: "unknown path; the API is POST /v1/chat/completions and GET /v1/models",
                                            shouldRetry: false))
    }
  }

  // MARK: - identity

  /// Who is calling: the configured tenant of the bearer token; without tokens
  /// configured, a Unix-socket peer by its credentials and a loopback TCP peer as
  /// the daemon's `default` tenant. Never anything the request body says.
  private func identify(_ request: Request, _ context: HTTPRequestContext) async throws(OpenAIError) -> CallerIdentity {
    if let tenant = try identity.tenant(authorization: request.headers[.authorization],
                                        peerIsLocal: HTTPIdentity.isLocal(context.channel.remoteAddress)) {
      return .token(tenant)
    }
    if let peer = await peerCredentials(context) { return .peer(uid: peer.uid, gids: [peer.gid]) }
    return .token(HTTPIdentity.defaultTenant)
  }

  // MARK: - chat completions

  private func chatCompletions(_ request: Request, _ context: HTTPRequestContext) async -> Response {
    let started = ContinuousClock.now
    // switchboard_http_in_flight: a stream hands its count to its routing task, which outlives this call.
    let metrics = runtime.metrics
    metrics.httpInFlight(1)
    var streamOwnsInFlight = false
    defer { if !streamOwnsInFlight { metrics.httpInFlight(-1) } }
    var chat: ChatRequest
    let includeUsage: Bool
    let caller: CallerIdentity
    do {
      caller = try await identify(request, context)
      let subTenant = try HTTPIdentity.subTenant(header: request.headers[Self.tenantHeader])
      let body = try await readBody(request)
      let decoded = try OpenAIRequestConversion.decode(body)
      let routes = Set(runtime.router.configuration.routes.keys)
      let target = try OpenAIRequestConversion.target(decoded.model, routes: routes, directTargets: settings.directTargets)
      chat = try OpenAIRequestConversion.chatRequest(decoded, route: target.route, explicit: target.explicit)
      includeUsage = decoded.streamOptions?.includeUsage ?? false
      // A sub-tenant of the caller's tenant, under the same rules as on the socket.
      chat.tenant = subTenant
      try applyHeaders(request, to: &chat)
    } catch {
      return Self.errorResponse(error)
    }
    var issued = SwitchboardCore.RequestContext(caller: caller)
    issued.issuedRequestID = runtime.router.nextRequestID()
    let routingContext = issued
    // W3C trace context; a malformed traceparent is ignored (a new trace), never a 400.
    let incoming = Self.traceContext(request)
    if chat.stream {
      streamOwnsInFlight = true
      return await OpenAIStream(endpoint: self, request: chat, context: routingContext, incoming: incoming, includeUsage: includeUsage,
                                channel: context.channel, started: started).run()
    }
    let router = runtime.router
    let tracer = runtime.tracer
    let request = chat
    let routeName = chat.route ?? chat.explicitTarget?.description ?? ""
    // A client that hangs up cancels its request (the decision records it).
    let outcome = await cancellingOnClose(context.channel) {
      await tracer.traced(route: routeName, context: routingContext, incoming: incoming) { ctx in
        await router.complete(request, context: ctx)
      }
    }
    runtime.recorder.record(outcome.event, started: started)
    switch outcome.result {
    case .success(let r):
      let json = OpenAIResponseEncoding.completion(r, event: outcome.event, created: Self.created())
      var headers = Self.decisionHeaders(outcome.event, traceparent: incoming?.traceParent)
      headers[.contentType] = "application/json"
      return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: json)))
    case .failure(let e):
      var headers = Self.decisionHeaders(outcome.event, traceparent: incoming?.traceParent)
      let err = OpenAIError.from(e, wallMillis: runtime.router.clock.wallMillis())
      return Self.errorResponse(err, headers: &headers)
    }
  }

  /// The body, at most `max_body_bytes` (413 past that, before reading it all when announced).
  private func readBody(_ request: Request) async throws(OpenAIError) -> Data {
    let tooLarge = OpenAIError(status: 413, type: "invalid_request_error", code: "request_too_large",
                               message: "the request body exceeds http.max_body_bytes (\(settings.maxBodyBytes) bytes)", shouldRetry: false)
    if let len = request.headers[.contentLength].flatMap(Int.init), len > settings.maxBodyBytes { throw tooLarge }
    do {
      let buffer = try await request.body.collect(upTo: settings.maxBodyBytes)
      return Data(buffer.readableBytesView)
    } catch is NIOTooManyBytesError {
      throw tooLarge
    } catch {
      throw .invalid("the request body could not be read")
    }
  }

  /// `x-request-id`, `x-switchboard-tags` (the trace context: ``traceContext(_:)``).
  private func applyHeaders(_ request: Request, to chat: inout ChatRequest) throws(OpenAIError) {
    if let id = request.headers[Self.clientRequestIDHeader], !id.isEmpty {
      guard id.utf8.count <= 128, id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
        throw .invalid("x-request-id must be 1-128 printable ASCII characters without spaces")
      }
      chat.requestID = id
    }
    if let tags = request.headers[Self.tagsHeader], !tags.isEmpty {
      let pairs = tags.split(separator: ",")
      guard pairs.count <= 16 else { throw .invalid("x-switchboard-tags: at most 16 tags") }
      for pair in pairs {
        let kv = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        guard kv.count == 2, HTTPSettings.isValidTenantName(kv[0]), !kv[1].isEmpty, kv[1].utf8.count <= 128 else {
          throw .invalid("x-switchboard-tags must be key=value pairs separated by commas (keys: A-Z a-z 0-9 . _ -)")
        }
        chat.tags[kv[0]] = kv[1]
      }
    }
  }

  /// `traceparent` / `tracestate`, validated strictly; nil when absent or malformed.
  /// A header sent twice is taken as malformed (W3C: one traceparent).
  static func traceContext(_ request: Request) -> IncomingTraceContext? {
    let parents = request.headers[values: traceparentHeader]
    guard parents.count == 1 else { return nil }
    let states = request.headers[values: tracestateHeader]
    // Repeated tracestate headers combine as one list (RFC 9110 field lines).
    return IncomingTraceContext.parse(traceParent: parents[0], traceState: states.isEmpty ? nil : states.joined(separator: ","))
  }

  /// SO_PEERCRED on the Unix socket; nil over TCP.
  private func peerCredentials(_ context: HTTPRequestContext) async -> PeerCredentials? {
    guard case .unixDomainSocket? = context.channel.remoteAddress ?? context.channel.localAddress else { return nil }
    return try? await PeerCredentials.read(from: context.channel).get()
  }

  static func created() -> Int64 { Int64(Date().timeIntervalSince1970) }

  /// `x-switchboard-*` headers of a finished decision.
  static func decisionHeaders(_ e: DecisionEvent, traceparent: String?) -> HTTPFields {
    var h = HTTPFields()
    h[requestIDHeader] = e.requestID
    if let p = e.chosenProvider { h[providerHeader] = p }
    if let m = e.chosenModel { h[modelHeader] = m }
    h[attemptsHeader] = String(OpenAIResponseEncoding.attemptCount(e))
    if let c = e.costUSD { h[costHeader] = formatUSD(c) }
    h[decisionHeader] = headerSafe(e.summary)
    if let traceparent { h[traceparentHeader] = traceparent }
    if let t = e.traceID { h[traceIDHeader] = t }
    return h
  }

  /// Printable ASCII only (header values cannot carry newlines or arbitrary bytes).
  static func headerSafe(_ s: String) -> String {
    String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value >= 0x20 && $0.value < 0x7F ? $0 : " " }))
  }

  static func errorResponse(_ error: any Error) -> Response {
    var h = HTTPFields()
    let e = (error as? OpenAIError) ?? OpenAIError(status: 500, type: "server_error", code: "internal", message: "internal error")
    return errorResponse(e, headers: &h)
  }

  static func errorResponse(_ e: OpenAIError, headers: inout HTTPFields) -> Response {
    headers[.contentType] = "application/json"
    if let s = e.retryAfterSeconds { headers[.retryAfter] = String(s) }
    if let r = e.shouldRetry { headers[shouldRetryHeader] = r ? "true" : "false" }
    return Response(status: .init(code: e.status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: e.json)))
  }

  // MARK: - models

  /// Routes (and, with direct targets, every configured provider/model) with capabilities.
  private func models() -> Response {
    let config = runtime.router.configuration
    var out = "{\"object\":\"list\",\"data\":["
    var first = true
    func entry(_ id: String, kind: String, candidates: [CandidateRef], strategy: String?) {
      if !first { out += "," }
      first = false
      out += "{\"id\":"; JSONText.appendQuoted(id, to: &out)
      out += ",\"object\":\"model\",\"created\":0,\"owned_by\":\"switchboard\",\"switchboard\":{\"kind\":\"\(kind)\""
      if let strategy { out += ",\"strategy\":"; JSONText.appendQuoted(strategy, to: &out) }
      var union = Set<Capability>()
      out += ",\"candidates\":["
      for (i, ref) in candidates.enumerated() {
        let info = config.catalog.info(for: ref)
        let caps = info?.capabilities ?? []
        union.formUnion(caps)
        if i > 0 { out += "," }
        out += "{\"target\":"; JSONText.appendQuoted(ref.description, to: &out)
        out += ",\"capabilities\":[" + caps.sorted().map { "\"\($0.rawValue)\"" }.joined(separator: ",") + "]"
        if let w = info?.contextWindow, w != .max { out += ",\"context_window\":\(w)" }
        out += "}"
      }
      out += "],\"capabilities\":[" + union.sorted().map { "\"\($0.rawValue)\"" }.joined(separator: ",") + "]}}"
    }
    for name in config.routes.keys.sorted() {
      let r = config.routes[name]!
      entry(name, kind: "route", candidates: r.candidates.map(\.ref), strategy: r.strategy.rawValue)
    }
    if settings.directTargets {
      var targets = Set(config.routes.values.flatMap { $0.candidates.map(\.ref) })
      for ref in config.catalog.instanceEntries.keys where config.adapters[ref.provider] != nil { targets.insert(ref) }
      for ref in targets.sorted() { entry(ref.description, kind: "direct", candidates: [ref], strategy: nil) }
    }
    out += "]}"
    var h = HTTPFields()
    h[.contentType] = "application/json"
    return Response(status: .ok, headers: h, body: .init(byteBuffer: ByteBuffer(string: out)))
  }
}
