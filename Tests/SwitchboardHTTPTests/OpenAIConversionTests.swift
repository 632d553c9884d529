import Foundation
import Testing

@testable import SwitchboardCore
@testable import SwitchboardDaemon
@testable import SwitchboardHTTP

@Suite("OpenAI request conversion")
struct OpenAIConversionTests {
  func convert(_ json: String, routes: Set<String> = ["default"], direct: Bool = false) throws(OpenAIError) -> ChatRequest {
    let body = try OpenAIRequestConversion.decode(Data(json.utf8))
    let t = try OpenAIRequestConversion.target(body.model, routes: routes, directTargets: direct)
    return try OpenAIRequestConversion.chatRequest(body, route: t.route, explicit: t.explicit)
  }

  func error(_ json: String, routes: Set<String> = ["default"], direct: Bool = false) -> OpenAIError? {
    do { _ = try convert(json, routes: routes, direct: direct); return nil } catch { return error }
  }

  @Test func fullRequestMapsEveryField() throws {
    let r = try convert("""
      {"model":"default","messages":[
        {"role":"developer","content":"be brief"},
        {"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"https://x.test/a.png","detail":"low"}}]},
        {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"look","arguments":"{\\"q\\":1}"}}]},
        {"role":"tool","tool_call_id":"c1","content":"a cat"}],
       "tools":[{"type":"function","function":{"name":"look","description":"d","parameters":{"type":"object","properties":{"q":{"type":"integer"}}}}}],
       "tool_choice":{"type":"function","function":{"name":"look"}},
       "response_format":{"type":"json_schema","json_schema":{"name":"out","schema":{"type":"object"},"strict":true}},
       "max_completion_tokens":50,"temperature":0.5,"top_p":0.9,"stop":"END","seed":7,"user":"u-1","stream":true,
       "stream_options":{"include_usage":true},"presence_penalty":0.1,"logprobs":false}
      """)
    #expect(r.route == "default" && r.explicitTarget == nil)
    #expect(r.messages.map(\.role) == [.system, .user, .assistant, .tool])
    #expect(r.messages[1].parts == [.text("what is this?"), .image(ImageReference(url: "https://x.test/a.png", detail: "low"))])
    #expect(r.messages[1].content == "what is this?")
    #expect(r.messages[2].toolCalls == [ToolCall(id: "c1", name: "look", argumentsJSON: "{\"q\":1}")])
    #expect(r.messages[3].toolCallID == "c1")
    #expect(r.tools.first?.parametersJSONSchema == "{\"properties\":{\"q\":{\"type\":\"integer\"}},\"type\":\"object\"}")
    #expect(r.toolChoice == "look")
    #expect(r.responseFormat == .jsonSchema(name: "out", schema: "{\"type\":\"object\"}", strict: true))
    #expect(r.maxTokens == 50 && r.temperature == 0.5 && r.topP == 0.9 && r.stop == ["END"] && r.seed == 7)
    #expect(r.tags["user"] == "u-1")
    #expect(r.stream)
    #expect(!r.streamRestartAllowed, "an OpenAI client can never take a StreamRestart")
    #expect(r.impliedCapabilities.isSuperset(of: [.vision, .tools, .jsonSchema, .streaming]))
  }

  @Test func modelIsARouteUnlessDirectTargetsAreOn() throws {
    // Unknown names go to the router as routes (it answers 404 and records the decision).
    #expect(try convert(#"{"model":"nope","messages":[{"role":"user","content":"hi"}]}"#).route == "nope")
    let routed = try convert(#"{"model":"sim-a/small","messages":[{"role":"user","content":"hi"}]}"#)
    #expect(routed.route == "sim-a/small" && routed.explicitTarget == nil)
    let r = try convert(#"{"model":"sim-a/small","messages":[{"role":"user","content":"hi"}]}"#, direct: true)
    #expect(r.explicitTarget == CandidateRef(provider: "sim-a", model: "small") && r.route == nil)
    // A route wins over a direct target of the same spelling.
    #expect(try convert(#"{"model":"a/b","messages":[{"role":"user","content":"hi"}]}"#, routes: ["a/b"], direct: true).route == "a/b")
  }

  @Test func metadataBecomesTheDecisionsTags() throws {
    let r = try convert(#"{"model":"default","messages":[{"role":"user","content":"x"}],"metadata":{"team":"payments","ticket":"INC-42"},"user":"u-1"}"#)
    #expect(r.tags == ["team": "payments", "ticket": "INC-42", "user": "u-1"])
    // `user` never overrides a `user` the metadata set; an over-long one is cut at 256 bytes, whole characters.
    let both = try convert(#"{"model":"default","messages":[{"role":"user","content":"x"}],"metadata":{"user":"meta"},"user":"u-1"}"#)
    #expect(both.tags["user"] == "meta")
    let long = try convert(#"{"model":"default","messages":[{"role":"user","content":"x"}],"user":"\#(String(repeating: "é", count: 200))"}"#)
    #expect(long.tags["user"]?.utf8.count == 256)
    // Over the bounds the router refuses it with a 400 naming the limit (invalid_tags).
    let e = OpenAIError.from(RoutingError(.invalidArgument, RequestTags.reason, "invalid tags: too many tags: 17 (at most 16)"), wallMillis: 0)
    #expect(e.status == 400 && e.message.contains("at most 16"))
    // Metadata values must be strings, like OpenAI's.
    #expect(error(#"{"model":"default","messages":[{"role":"user","content":"x"}],"metadata":{"n":5}}"#)?.status == 400)
  }

  @Test func unknownRouteMapsToOpenAIsModelNotFound() {
    let e = OpenAIError.from(RoutingError(.notFound, .unknownRoute, "unknown route 'x'"), wallMillis: 0)
    #expect(e.status == 404 && e.code == "model_not_found" && e.param == "model")
  }

  @Test(arguments: [
    ("not json", nil as String?),
    (#"[1,2]"#, nil),
    (#"{"messages":[]}"#, "model"),
    (#"{"model":"default","messages":[]}"#, "messages"),
    (#"{"model":"default","messages":[{"role":"wizard","content":"x"}]}"#, "messages[0].role"),
    (#"{"model":"default","messages":[{"role":"user","content":5}]}"#, "messages[0].content"),
    (#"{"model":"default","messages":[{"role":"user","content":[{"type":"audio"}]}]}"#, "messages[0].content[0].type"),
    (#"{"model":"default","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}]}]}"#, "messages[0].content[0].image_url.url"),
    (#"{"model":"default","messages":[{"role":"tool","content":"x"}]}"#, "messages[0].tool_call_id"),
    (#"{"model":"default","messages":[{"role":"user","content":"x"}],"temperature":3}"#, "temperature"),
    (#"{"model":"default","messages":[{"role":"user","content":"x"}],"max_tokens":0}"#, "max_tokens"),
    (#"{"model":"default","messages":[{"role":"user","content":"x"}],"n":2}"#, "n"),
    (#"{"model":"default","messages":[{"role":"user","content":"x"}],"tool_choice":"required"}"#, "tool_choice"),
    (#"{"model":"default","messages":[{"role":"user","content":"x"}],"response_format":{"type":"xml"}}"#, "response_format.type"),
    (#"{"model":"default","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":[1]}}]}"#, "tools[0].function.parameters"),
  ])
  func badInputIsA400NamingTheField(json: String, param: String?) {
    let e = error(json)
    #expect(e?.status == 400, "\(json)")
    #expect(e?.type == "invalid_request_error")
    #expect(e?.param == param)
    #expect(e?.shouldRetry == false)
  }

  @Test func decodeErrorsDoNotEchoTheBody() {
    let secret = "sk-live-SECRET123"
    let e = error(#"{"model":"default","messages":[{"role":"user","content":{"k":"\#(secret)"}}]}"#)
    #expect(e?.status == 400)
    #expect(e.map { !$0.message.contains(secret) && !$0.json.contains(secret) } == true)
  }
}

@Suite("OpenAI error mapping")
struct OpenAIErrorMappingTests {
  @Test(arguments: [
    (RoutingError(.invalidArgument, .invalidRequest, "m"), 400, "invalid_request_error"),
    (RoutingError(.notFound, "unknown_request", "m"), 404, "invalid_request_error"),
    (RoutingError(.permissionDenied, "tenant_not_allowed", "m"), 403, "permission_error"),
    (RoutingError(.deadlineExceeded, .deadlineExceeded, "m"), 408, "timeout_error"),
    (RoutingError(.resourceExhausted, .budgetExhausted, "m"), 429, "insufficient_quota"),
    (RoutingError(.unavailable, .rateLimited, "m", retryable: true, retryAfter: .seconds(3)), 429, "rate_limit_error"),
    (RoutingError(.internal, "audit_error", "m"), 500, "server_error"),
    (RoutingError(.unavailable, .provider5xx, "m", retryable: true), 502, "server_error"),
    (RoutingError(.unavailable, .circuitOpen, "m", retryable: true), 503, "server_error"),
    (RoutingError(.overloaded, "overloaded", "m", retryable: true), 503, "server_error"),
    (RoutingError(.upstreamRejected, .contentPolicy, "m"), 400, "invalid_request_error"),
  ])
  func statusAndType(error: RoutingError, status: Int, type: String) {
    let e = OpenAIError.from(error, wallMillis: 0)
    #expect(e.status == status)
    #expect(e.type == type)
    #expect(e.code == error.reason.rawValue)
  }

  @Test func budgetRefusalTellsTheSDKNotToRetryAndWhenTheWindowRolls() {
    // 23:00:00 UTC: the daily budget resets in one hour.
    let e = OpenAIError.from(RoutingError(.resourceExhausted, .budgetExhausted, "m"), wallMillis: 23 * 3_600_000)
    #expect(e.shouldRetry == false)
    #expect(e.retryAfterSeconds == 3601)
  }

  @Test func rateLimitCarriesRetryAfter() {
    let e = OpenAIError.from(RoutingError(.unavailable, .rateLimited, "m", retryable: true, retryAfter: .milliseconds(2500)), wallMillis: 0)
    #expect(e.retryAfterSeconds == 3)
  }

  @Test func errorBodyIsOpenAIShaped() throws {
    let e = OpenAIError.invalid("bad \"quote\"", param: "messages")
    let obj = try JSONSerialization.jsonObject(with: Data(e.json.utf8)) as? [String: Any]
    let inner = try #require(obj?["error"] as? [String: Any])
    #expect(inner["message"] as? String == "bad \"quote\"")
    #expect(inner["type"] as? String == "invalid_request_error")
    #expect(inner["param"] as? String == "messages")
    #expect(inner["code"] as? String == "invalid_request")
  }
}

@Suite("HTTP identity and config")
struct HTTPIdentityTests {
  @Test func tokensMapToTenantsAndAreRequired() throws {
    let id = try HTTPIdentity(settings: [HTTPTokenSettings(env: "T1", tenant: "payments"), HTTPTokenSettings(env: "T2", tenant: "search")],
                              environment: ["T1": "tok-one", "T2": "tok-two"])
    #expect(try id.tenant(authorization: "Bearer tok-two", peerIsLocal: false) == "search")
    #expect(try id.tenant(authorization: "bearer tok-one", peerIsLocal: true) == "payments")
    for bad in [nil, "", "Bearer ", "Bearer tok-on", "Bearer tok-one2", "Basic tok-one", "tok-one"] as [String?] {
      #expect(throws: OpenAIError.self) { try id.tenant(authorization: bad, peerIsLocal: true) }
      do { _ = try id.tenant(authorization: bad, peerIsLocal: true) } catch { #expect(error.status == 401) }
    }
  }

  @Test func withoutTokensOnlyLocalPeers() throws {
    let id = try HTTPIdentity(settings: [], environment: [:])
    #expect(try id.tenant(authorization: "Bearer anything", peerIsLocal: true) == nil)
    do { _ = try id.tenant(authorization: nil, peerIsLocal: false); Issue.record("served a remote peer") } catch { #expect(error.status == 403) }
  }

  @Test func missingTokenVariableFailsTheStartWithoutAValue() {
    #expect(throws: HTTPIdentity.MissingTokenError.self) {
      _ = try HTTPIdentity(settings: [HTTPTokenSettings(env: "NOPE", tenant: "t")], environment: ["NOPE": ""])
    }
  }

  @Test func constantTimeEqual() {
    #expect(HTTPIdentity.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
    #expect(!HTTPIdentity.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
    #expect(!HTTPIdentity.constantTimeEqual(Array("abc".utf8), Array("abcd".utf8)))
    #expect(!HTTPIdentity.constantTimeEqual([], Array("a".utf8)))
    #expect(!HTTPIdentity.constantTimeEqual(Array("abc\0".utf8), Array("abc".utf8)), "zero padding must not match")
  }

  @Test func subTenants() throws {
    #expect(try HTTPIdentity.subTenant(header: "eu") == "eu")
    #expect(try HTTPIdentity.subTenant(header: nil) == nil)
    #expect(try HTTPIdentity.subTenant(header: "") == nil)
    #expect(throws: OpenAIError.self) { try HTTPIdentity.subTenant(header: "../admin") }
  }

  static let base = "providers: {sim: {kind: simulated}}\nroutes: {r: {candidates: [sim/m]}}\n"

  @Test func configBlock() throws {
    let c = try DaemonConfiguration.parse(yaml: Self.base + """
      http: {listen: "127.0.0.1:0", socket: /tmp/x.sock, tokens: [{env: TOK, tenant: payments}], direct_targets: true, max_body_bytes: 2048}
      """)
    let h = try #require(c.http)
    #expect(h.listenHostPort?.host == "127.0.0.1" && h.listenHostPort?.port == 0)
    #expect(h.socket == "/tmp/x.sock" && h.directTargets && h.maxBodyBytes == 2048)
    #expect(h.tokens == [HTTPTokenSettings(env: "TOK", tenant: "payments")])
    #expect(try DaemonConfiguration.parse(yaml: Self.base).http == nil, "off unless configured")
  }

  @Test(arguments: [
    "http: {listen: \"0.0.0.0:8080\"}",
    "http: {listen: \"0.0.0.0:8080\", allow_non_loopback: true}",
    "http: {listen: \"localhost\"}",
    "http: {}",
    "http: {listen: \"127.0.0.1:8080\", tokens: [{env: TOK}]}",
    "http: {listen: \"127.0.0.1:8080\", tokens: [{env: TOK, tenant: \"a b\"}]}",
    "http: {listen: \"127.0.0.1:8080\", max_body_bytes: 10}",
    "http: {listen: \"127.0.0.1:8080\", bogus: 1}",
    "listen: {socket: /tmp/same.sock}\nhttp: {socket: /tmp/same.sock}",
  ])
  func badConfigIsRejected(yaml: String) {
    #expect(throws: ConfigError.self) { _ = try DaemonConfiguration.parse(yaml: Self.base + yaml) }
  }

  @Test func nonLoopbackWithTokensIsAllowed() throws {
    let c = try DaemonConfiguration.parse(yaml: Self.base + "http: {listen: \"0.0.0.0:8080\", allow_non_loopback: true, tokens: [{env: T, tenant: t}]}")
    #expect(c.http?.allowNonLoopback == true)
  }
}
