import Foundation
import Logging
import Synchronization
import SwitchboardClient
import SwitchboardCore
import SwitchboardDaemon
import SwitchboardTestKit
import SwitchboardWire
import Testing

// Tracing end to end: client (traceparent) → socket → daemon → FakeProvider over
// HTTP, spans exported over OTLP/HTTP to an in-test collector (`OTLPReceiver`)
// that decodes them with the OTLP protobufs.

private enum Tracing {
  static let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
  static let callerSpan = "00f067aa0ba902b7"
  static let traceparent = "00-\(traceID)-\(callerSpan)-01"
  static let keyA = "sk-test-trace-a-0123456789"
  static let keyB = "sk-test-trace-b-0123456789"

  struct Stack {
    let daemon: InProcessDaemon
    let client: SwitchboardClient
    let a: FakeProvider
    let b: FakeProvider
    let dir: String

    func explain(_ id: String) async throws -> Switchboard_V1_DecisionEvent {
      var a = Switchboard_V1_AdminRequest()
      var e = Switchboard_V1_ExplainRequest(); e.requestID = id
      a.kind = .explain(e)
      return try await client.admin(a).explain.event
    }
  }

  static func request(traceparent: String? = nil, tracestate: String? = nil) -> Switchboard_V1_CompletionRequest {
    var r = TestSupport.request(route: "r")
    if let traceparent { r.traceparent = traceparent }
    if let tracestate { r.tracestate = tracestate }
    return r
  }

  /// Two OpenAI-compatible fakes `a` (primary) and `b` (fallback) on route `r`; the
  /// daemon exports to `otlp` when given. The daemon is stopped (spans flushed)
  /// before `after` runs.
  static func withStack(otlp: String?, tracingExtra: String = "", logger: Logger? = nil,
                        _ body: (Stack) async throws -> Void, after: () async throws -> Void = {}) async throws {
    let a = FakeProvider(), b = FakeProvider()
    try await a.start()
    do {
      try await b.start()
    } catch {
      try? await a.shutdown()
      throw error
    }
    do {
      let dir = TestSupport.tempDir()
      var yaml = """
        listen: {socket: /tmp/unused.sock}
        logging: {level: error}
        audit: {path: "\(dir)/audit.sqlite"}
        providers:
          a: {kind: openai, base_url: "\(a.baseURL)", keys: [{value: "\(keyA)"}]}
          b: {kind: openai, base_url: "\(b.baseURL)", keys: [{value: "\(keyB)"}]}
        models:
          a/m-a: {input: 1.0, output: 2.0, context: 32000, max_output: 1024, capabilities: [streaming]}
          b/m-b: {input: 3.0, output: 4.0, context: 32000, max_output: 1024, capabilities: [streaming]}
        routes:
          r: {candidates: [a/m-a, b/m-b], retry: {same_candidate_retries: 0}}

        """
      if let otlp {
        yaml += "tracing: {otlp_endpoint: \"\(otlp)\", service_name: switchboard-test, export_interval_ms: 50\(tracingExtra)}\n"
      }
      let socket = dir + "/t.sock"
      let daemon = try await InProcessDaemon.start(yaml: yaml, socketPath: socket, environment: [:],
                                                   logger: logger ?? Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }))
      do {
        let client = try await SwitchboardClient.connect(socketPath: socket)
        do {
          try await body(Stack(daemon: daemon, client: client, a: a, b: b, dir: dir))
        } catch {
          await client.close()
          throw error
        }
        await client.close()
      } catch {
        await daemon.stop()
        throw error
      }
      await daemon.stop()
      try await after()
    } catch {
      try? await a.shutdown(); try? await b.shutdown()
      throw error
    }
    try? await a.shutdown(); try? await b.shutdown()
  }
}

@Suite(.serialized) struct TracingTests {
  @Test func failoverRequestExportsTheSpanTreeUnderTheCallersTraceAndRecordsTheTraceID() async throws {
    let receiver = try await OTLPReceiver.start()
    defer { Task { await receiver.shutdown() } }
    var requestID = ""
    var event = Switchboard_V1_DecisionEvent()
    var providerHeaders: [(a: String?, b: String?)] = []
    try await Tracing.withStack(otlp: receiver.endpoint) { s in
      s.a.script(model: "m-a", .status(503))
      let r = try await s.client.complete(Tracing.request(traceparent: Tracing.traceparent, tracestate: "vendor=abc"))
      #expect(r.provider == "b" && r.attempts == 2)
      #expect(r.traceID == Tracing.traceID, "the response names the caller's trace")
      requestID = r.requestID
      event = try await s.explain(r.requestID)
      #expect(s.a.attempts.count == 1 && s.b.attempts.count == 1)
      providerHeaders = [(s.a.attempts[0].header("traceparent"), s.a.attempts[0].header("tracestate")),
                         (s.b.attempts[0].header("traceparent"), s.b.attempts[0].header("tracestate"))]
    }
    // The decision event carries the caller's trace id.
    #expect(event.traceID == Tracing.traceID)
    #expect(event.attempts.map(\.provider) == ["a", "b"])

    // Stopping the daemon flushed the exporter: the spans are at the collector.
    #expect(receiver.rejectedCount == 0)
    #expect(receiver.exports.allSatisfy { $0.path == "/v1/traces" && $0.contentType == "application/x-protobuf" })
    #expect(receiver.serviceNames == ["switchboard-test"])
    let spans = receiver.spans
    #expect(spans.count == 3, "one request span and two attempt spans, got \(spans.map(\.name))")
    #expect(spans.allSatisfy { hex($0.traceID) == Tracing.traceID }, "every span is in the caller's trace")

    let root = try #require(spans.first { $0.kind == .server })
    #expect(root.name == "route r")
    #expect(hex(root.parentSpanID) == Tracing.callerSpan, "the request span is a child of the caller's span")
    #expect(root.traceState == "vendor=abc")
    #expect(root.string("switchboard.request.id") == requestID)
    #expect(root.string("switchboard.route") == "r")
    #expect(root.string("switchboard.outcome") == "success")
    #expect(root.int("switchboard.attempts") == 2)
    #expect(root.string("gen_ai.provider.name") == "b" && root.string("gen_ai.response.model") == "m-b")
    #expect(root.status.code != .error)

    let attempts = spans.filter { $0.kind == .client }.sorted { ($0.int("switchboard.attempt.index") ?? 0) < ($1.int("switchboard.attempt.index") ?? 0) }
    try #require(attempts.count == 2)
    for s in attempts {
      #expect(s.parentSpanID == root.spanID, "attempt spans are children of the request span")
      #expect(s.string("gen_ai.operation.name") == "chat")
    }
    let (first, second) = (attempts[0], attempts[1])
    #expect(first.name == "chat m-a" && second.name == "chat m-b")
    #expect(first.int("switchboard.attempt.index") == 1 && second.int("switchboard.attempt.index") == 2)
    #expect(first.string("gen_ai.provider.name") == "a" && first.string("gen_ai.request.model") == "m-a")
    #expect(first.string("switchboard.attempt.outcome") == "failed")
    #expect(first.string("switchboard.failure.class") == "transient")
    #expect(first.string("switchboard.reason") == "provider_5xx" && first.string("error.type") == "provider_5xx")
    #expect(first.int("http.response.status_code") == 503)
    #expect(first.status.code == .error)
    #expect(first.string("switchboard.key.fingerprint") == Secret(Tracing.keyA).fingerprint)
    #expect(second.string("gen_ai.provider.name") == "b" && second.string("gen_ai.request.model") == "m-b")
    #expect(second.string("switchboard.attempt.outcome") == "success")
    #expect(second.string("switchboard.key.fingerprint") == Secret(Tracing.keyB).fingerprint)
    #expect(second.int("gen_ai.usage.output_tokens") == Int64(event.attempts[1].usage.outputTokens))
    #expect(second.int("gen_ai.usage.input_tokens") == Int64(event.attempts[1].usage.inputTokens))
    #expect((second.int("gen_ai.usage.input_tokens") ?? 0) > 0)
    #expect(second.strings("gen_ai.response.finish_reasons") == ["stop"])
    #expect(second.double("switchboard.cost_usd").map { abs($0 - event.attempts[1].costUsd) < 1e-12 } == true)
    #expect(second.attribute("error.type") == nil)
    #expect(second.status.code != .error)
    // Attempts are ordered in time inside the request span.
    #expect(root.startTimeUnixNano <= first.startTimeUnixNano && first.endTimeUnixNano <= second.startTimeUnixNano)
    #expect(second.endTimeUnixNano <= root.endTimeUnixNano)

    // Each provider request carried the trace context of its own attempt span.
    #expect(providerHeaders[0].a == "00-\(Tracing.traceID)-\(hex(first.spanID))-01")
    #expect(providerHeaders[1].a == "00-\(Tracing.traceID)-\(hex(second.spanID))-01")
    #expect(providerHeaders[0].b == "vendor=abc" && providerHeaders[1].b == "vendor=abc")

    // Never a key in what was exported.
    for export in receiver.exports {
      let text = String(decoding: export.raw, as: UTF8.self)
      #expect(!text.contains(Tracing.keyA) && !text.contains(Tracing.keyB))
    }
  }

  @Test func aRequestWithoutTraceparentStartsANewTraceThatTheDecisionNames() async throws {
    let receiver = try await OTLPReceiver.start()
    defer { Task { await receiver.shutdown() } }
    var traceID = ""
    var providerTraceparent: String?
    try await Tracing.withStack(otlp: receiver.endpoint) { s in
      let r = try await s.client.complete(Tracing.request())
      traceID = r.traceID
      #expect(traceID.count == 32 && traceID.allSatisfy(\.isHexDigit) && traceID != String(repeating: "0", count: 32))
      #expect(try await s.explain(r.requestID).traceID == traceID)
      providerTraceparent = s.a.attempts.first?.header("traceparent")
    }
    let spans = receiver.spans
    #expect(spans.count == 2)
    let root = try #require(spans.first { $0.kind == .server })
    #expect(root.parentSpanID.isEmpty, "a new trace: the request span is the root")
    #expect(spans.allSatisfy { hex($0.traceID) == traceID })
    let attempt = try #require(spans.first { $0.kind == .client })
    #expect(providerTraceparent == "00-\(traceID)-\(hex(attempt.spanID))-01")
  }

  /// Malformed trace context from a client is ignored (a new trace), never an error,
  /// and never reaches a provider.
  @Test func malformedTraceparentIsIgnoredAndANewTraceStarts() async throws {
    let receiver = try await OTLPReceiver.start()
    defer { Task { await receiver.shutdown() } }
    let bad = [
      "00-\(Tracing.traceID.uppercased())-\(Tracing.callerSpan)-01",        // uppercase hex
      "00-00000000000000000000000000000000-\(Tracing.callerSpan)-01",       // all-zero trace id
      "ff-\(Tracing.traceID)-\(Tracing.callerSpan)-01",                     // version ff
      String(repeating: "a", count: 1 << 20),                               // 1 MiB of garbage
    ]
    try await Tracing.withStack(otlp: receiver.endpoint) { s in
      for tp in bad {
        let r = try await s.client.complete(Tracing.request(traceparent: tp, tracestate: "x=y"))
        #expect(r.content.isEmpty == false)
        #expect(r.traceID.count == 32 && r.traceID != Tracing.traceID)
        let sent = s.a.attempts.last?.header("traceparent")
        #expect(sent != nil && sent != tp && sent?.contains(r.traceID) == true)
        #expect(s.a.attempts.last?.header("tracestate") == nil, "a tracestate without a valid traceparent is dropped")
      }
    }
    #expect(receiver.spans.filter { $0.kind == .server }.allSatisfy { $0.parentSpanID.isEmpty })
  }

  /// Tracing off (no `tracing:` block): no exporter, no spans; a caller's valid
  /// traceparent is still recorded and forwarded unchanged, and nothing is invented.
  @Test func withTracingOffTheCallersContextIsRecordedAndForwardedAndNothingIsExported() async throws {
    try await Tracing.withStack(otlp: nil) { s in
      #expect(s.daemon.runtime.tracer.isEnabled == false)
      let r = try await s.client.complete(Tracing.request(traceparent: Tracing.traceparent, tracestate: "vendor=abc"))
      #expect(r.traceID == Tracing.traceID)
      #expect(try await s.explain(r.requestID).traceID == Tracing.traceID)
      #expect(s.a.attempts.last?.header("traceparent") == Tracing.traceparent)
      #expect(s.a.attempts.last?.header("tracestate") == "vendor=abc")

      let plain = try await s.client.complete(Tracing.request())
      #expect(plain.traceID.isEmpty)
      #expect(try await s.explain(plain.requestID).traceID.isEmpty)
      #expect(s.a.attempts.last?.header("traceparent") == nil)
    }
  }

  /// sample_ratio 0: new traces are not exported (their ids are still recorded),
  /// a caller's sampled trace is (parent-based sampling).
  @Test func sampleRatioZeroExportsOnlyCallerSampledTraces() async throws {
    let receiver = try await OTLPReceiver.start()
    defer { Task { await receiver.shutdown() } }
    var unsampled = ""
    try await Tracing.withStack(otlp: receiver.endpoint, tracingExtra: ", sample_ratio: 0") { s in
      let r = try await s.client.complete(Tracing.request())
      unsampled = r.traceID
      #expect(unsampled.count == 32)
      #expect(s.a.attempts.last?.header("traceparent")?.hasSuffix("-00") == true, "the provider is told the trace is not sampled")
      let sampled = try await s.client.complete(Tracing.request(traceparent: Tracing.traceparent))
      #expect(sampled.traceID == Tracing.traceID)
    }
    #expect(Set(receiver.spans.map { hex($0.traceID) }) == [Tracing.traceID])
    #expect(receiver.spans.count == 2)
  }

  /// A collector that is down or stuck costs requests nothing: they are served and
  /// recorded with their trace id, and the daemon still stops (the final export
  /// gives up after `export_timeout_ms`).
  @Test(.timeLimit(.minutes(1)), arguments: ["closed", "hanging"])
  func aCollectorThatIsDownOrStuckNeverHoldsUpRequestsOrShutdown(_ kind: String) async throws {
    let stuck = try await OTLPReceiver.start(hang: true)
    defer { Task { await stuck.shutdown() } }
    var endpoint = stuck.endpoint
    if kind == "closed" {
      let gone = try await OTLPReceiver.start()
      endpoint = gone.endpoint
      await gone.shutdown()
    }
    try await Tracing.withStack(otlp: endpoint, tracingExtra: ", export_timeout_ms: 200") { s in
      for _ in 0..<20 {
        let r = try await s.client.complete(Tracing.request(traceparent: Tracing.traceparent))
        #expect(r.traceID == Tracing.traceID)
      }
      s.a.script(model: "m-a", .status(503))
      let r = try await s.client.complete(Tracing.request())
      #expect(r.provider == "b")
      #expect(try await s.explain(r.requestID).traceID == r.traceID)
    }
    #expect(stuck.exports.isEmpty)
  }

  /// Every log line of a request carries `trace.id` (the decision and attempt
  /// lines, and the provider adapter's own lines through the metadata provider).
  @Test func logLinesOfATracedRequestCarryTheTraceID() async throws {
    let lines = Mutex<[String]>([])
    let logger = Logger(label: "switchboard") { label in
      SwitchboardLogging.makeHandler(label: label, format: .logfmt, level: .debug, sink: { l in lines.withLock { $0.append(l) } },
                                     metadataProvider: RequestTracer.loggingMetadataProvider)
    }
    try await Tracing.withStack(otlp: nil, logger: logger) { s in
      _ = try await s.client.complete(Tracing.request(traceparent: Tracing.traceparent))
    }
    let all = lines.withLock { $0 }
    let requestLines = all.filter { $0.contains("msg=decision") || $0.contains("msg=attempt") || $0.contains("provider attempt") }
    #expect(requestLines.count >= 3, "decision, attempt and provider lines: \(all)")
    #expect(requestLines.allSatisfy { $0.contains("trace.id=\(Tracing.traceID)") }, "\(requestLines)")
  }
}

/// The W3C parser, as a table: what is accepted, what is dropped.
@Suite struct IncomingTraceContextTests {
  static let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

  @Test(arguments: [
    "", "00", valid + "-", " " + valid, valid + " ", valid.uppercased(),
    "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  // version 01 is not accepted here
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
    "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
    "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e47é-00f067aa0ba902b7-01",
  ])
  func malformedTraceparentIsRejected(_ tp: String) {
    #expect(IncomingTraceContext.parse(traceParent: tp, traceState: "a=b") == nil)
  }

  @Test func validTraceparentIsKeptWithItsFlagsAndState() throws {
    let c = try #require(IncomingTraceContext.parse(traceParent: Self.valid, traceState: "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"))
    #expect(c.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
    #expect(c.sampled)
    #expect(c.traceState == "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
    let unsampled = try #require(IncomingTraceContext.parse(traceParent: String(Self.valid.dropLast(2)) + "00", traceState: nil))
    #expect(!unsampled.sampled && unsampled.traceState == nil)
  }

  @Test(arguments: ["no-equals-sign", "UPPER=x", "a=b,c", String(repeating: "k=v,", count: 40) + "k=v",
                    "a=" + String(repeating: "x", count: 600), "a=b\u{0}"])
  func malformedOrOversizedTracestateIsDroppedAndTraceparentKept(_ ts: String) throws {
    let c = try #require(IncomingTraceContext.parse(traceParent: Self.valid, traceState: ts))
    #expect(c.traceState == nil)
  }
}

/// The `tracing:` block: defaults, values, and errors that name the key but never the value.
@Suite struct TracingConfigurationTests {
  static let base = """
    listen: {socket: /tmp/x.sock}
    providers: {s: {kind: simulated}}
    models: {s/m: {input: 1, output: 1, context: 8000}}
    routes: {r: {candidates: [s/m]}}

    """

  @Test func offByDefault() throws {
    let c = try DaemonConfiguration.parse(yaml: Self.base)
    #expect(c.tracing == TracingConfiguration())
    #expect(!c.tracing.isEnabled)
    #expect(try RequestTracer.make(c.tracing, logger: Logger(label: "t")).isEnabled == false)
  }

  @Test func valuesAreRead() throws {
    let c = try DaemonConfiguration.parse(yaml: Self.base + """
      tracing: {otlp_endpoint: "http://collector:4318", sample_ratio: 0.25, service_name: sb-edge, export_interval_ms: 200, export_timeout_ms: 3000}
      """)
    #expect(c.tracing.otlpEndpoint == "http://collector:4318")
    #expect(c.tracing.tracesURL == "http://collector:4318/v1/traces")
    #expect(c.tracing.sampleRatio == 0.25)
    #expect(c.tracing.serviceName == "sb-edge")
    #expect(c.tracing.exportInterval == .milliseconds(200) && c.tracing.exportTimeout == .seconds(3))
    var t = TracingConfiguration(); t.otlpEndpoint = "https://c.example/otlp/v1/traces"
    #expect(t.tracesURL == "https://c.example/otlp/v1/traces")
    t.otlpEndpoint = "https://c.example/otlp/"
    #expect(t.tracesURL == "https://c.example/otlp/v1/traces")
  }

  @Test(arguments: [
    ("tracing: {otlp_endpoint: \"http://user:s3cr3t-value@collector:4318\"}", "tracing.otlp_endpoint", "s3cr3t-value"),
    ("tracing: {otlp_endpoint: \"grpc://collector-s3cr3t:4317\"}", "tracing.otlp_endpoint", "collector-s3cr3t"),
    ("tracing: {otlp_endpoint: \"not a url s3cr3t\"}", "tracing.otlp_endpoint", "s3cr3t"),
    ("tracing: {otlp_endpoint: \"http://c:4318/?token=s3cr3t\"}", "tracing.otlp_endpoint", "s3cr3t"),
    ("tracing: {otlp_endpoint: \"http://c:4318\", sample_ratio: 1.5}", "tracing.sample_ratio", "1.5"),
    ("tracing: {otlp_endpoint: \"http://c:4318\", sample_ratio: s3cr3t}", "tracing.sample_ratio", "s3cr3t"),
    ("tracing: {otlp_endpoint: \"http://c:4318\", service_name: \"\"}", "tracing.service_name", "\"\""),
    ("tracing: {otlp_endpoint: \"http://c:4318\", sample: 1}", "tracing.sample", "1"),
    ("tracing: {sample_ratio: 0.5}", "tracing.otlp_endpoint", "0.5"),
    ("tracing: s3cr3t", "tracing", "s3cr3t"),
  ])
  func invalidValuesAreReportedByKeyWithoutTheValue(_ yaml: String, _ path: String, _ secret: String) throws {
    do {
      _ = try DaemonConfiguration.parse(yaml: Self.base + yaml)
      Issue.record("accepted: \(yaml)")
    } catch let e as ConfigError {
      #expect(e.issues.contains { $0.path == path }, "\(e.issues)")
      #expect(!e.description.contains(secret), "the error echoes the value: \(e.description)")
    }
  }

  @Test func changingTracingNeedsARestart() throws {
    let a = try DaemonConfiguration.parse(yaml: Self.base)
    let b = try DaemonConfiguration.parse(yaml: Self.base + "tracing: {otlp_endpoint: \"http://c:4318\"}\n")
    #expect(DaemonRuntime.restartRequired(from: a, to: b).contains("tracing"))
    #expect(!DaemonRuntime.restartRequired(from: a, to: a).contains("tracing"))
  }
}
