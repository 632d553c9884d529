import Foundation
import Logging
import OTel
import ServiceLifecycle
import Synchronization
import SwitchboardCore
import SwitchboardWire
import Tracing

/// The daemon's tracing: a span per request with a child span per provider
/// attempt, exported over OTLP/HTTP by swift-otel; or, when `tracing:` is not
/// configured, no tracer, no exporter and no spans (``off``). Either way a
/// caller's valid `traceparent` is recorded as the decision's trace id and
/// forwarded to the providers.
///
/// The exporter runs in its own ServiceLifecycle group, started with the daemon
/// service and shut down after the socket server drained, so the spans of the
/// last requests are exported before the daemon exits.
public final class RequestTracer: Sendable {
  /// Tracing off: no tracer, no exporter.
  public static let off = RequestTracer(tracer: nil, backend: nil)

  let tracer: (any Tracer)?
  private let runner: BackendRunner?

  /// Whether spans are created and exported.
  public var isEnabled: Bool { tracer != nil }

  private init(tracer: (any Tracer)?, backend: (any Service)?) {
    self.tracer = tracer
    self.runner = backend.map(BackendRunner.init)
  }

  /// A tracer exporting to `configuration.otlpEndpoint`; ``off`` when tracing is
  /// not configured. swift-otel's `OTEL_*` environment variables apply on top of
  /// the configuration (the OpenTelemetry SDK convention).
  public static func make(_ configuration: TracingConfiguration, logger: Logger,
                          environment: [String: String] = ProcessInfo.processInfo.environment) throws -> RequestTracer {
    guard configuration.isEnabled, let url = configuration.tracesURL else { return .off }
    // swift-otel stops the process (fatalError) on these samplers: refuse them first.
    if let s = environment["OTEL_TRACES_SAMPLER"]?.lowercased(), ["jaeger_remote", "parentbased_jaeger_remote", "xray"].contains(s) {
      throw TracingSetupError("OTEL_TRACES_SAMPLER names a sampler this build does not support (use traceidratio, parentbased_traceidratio, always_on or always_off)")
    }
    var c = OTel.Configuration.default
    c.serviceName = configuration.serviceName
    c.resourceAttributes = ["service.version": SwitchboardVersion.current]
    c.diagnosticLogger = .custom(logger)
    c.diagnosticLogLevel = .warning
    c.propagators = [.traceContext]
    c.metrics.enabled = false
    c.logs.enabled = false
    c.traces.enabled = true
    c.traces.sampler = .parentBasedTraceIDRatio(ratio: min(1, max(0, configuration.sampleRatio))) ?? .parentBasedAlwaysOn
    c.traces.exporter = .otlp
    c.traces.otlpExporter.`protocol` = .httpProtobuf
    c.traces.otlpExporter.endpoint = url
    c.traces.otlpExporter.timeout = configuration.exportTimeout
    c.traces.batchSpanProcessor.scheduleDelay = configuration.exportInterval
    c.traces.batchSpanProcessor.exportTimeout = configuration.exportTimeout
    let (tracer, service) = try OTel.makeTracingBackend(configuration: c)
    return RequestTracer(tracer: tracer, backend: service)
  }

  /// Runs `route` (the router call) as one traced request: opens the request span
  /// (a child of `incoming` when the caller sent one), hands `route` the context
  /// with the trace id, and ends the spans with the decision's facts. Without a
  /// tracer and without `incoming` it only calls `route`.
  public func traced(route name: String, context: RequestContext, incoming: IncomingTraceContext?,
                     _ route: (RequestContext) async -> RoutedOutcome) async -> RoutedOutcome {
    guard tracer != nil || incoming != nil else { return await route(context) }
    let trace = RequestTrace(tracer: tracer, incoming: incoming, operation: "route \(name)")
    var context = context
    context.traceID = trace.traceID
    let outcome = await RequestTrace.$current.withValue(trace) { await route(context) }
    trace.finish(outcome.event)
    return outcome
  }

  /// Wraps a provider adapter so attempts get spans and carry `traceparent`.
  public static func instrument(_ adapter: any ProviderAdapter) -> any ProviderAdapter {
    adapter is TracingProviderAdapter ? adapter : TracingProviderAdapter(base: adapter)
  }

  /// Starts the exporter (no-op when off or already started).
  public func start() { runner?.start() }

  /// Exports what is left and stops the exporter (no-op when off or not started).
  public func shutdown() async { await runner?.stop() }
}

/// Runs swift-otel's tracing service group outside the daemon's graceful-shutdown
/// scope: a detached task (which does not inherit the daemon service's shutdown
/// signal), so the exporter outlives the drain and is stopped explicitly after it.
private final class BackendRunner: Sendable {
  private let group: ServiceGroup
  private let task = Mutex<Task<Void, Never>?>(nil)

  init(_ service: any Service) {
    group = ServiceGroup(configuration: .init(services: [service], logger: Logger(label: "switchboard.tracing", factory: { _ in SwiftLogNoOpLogHandler() })))
  }

  func start() {
    let group = self.group
    task.withLock { t in
      guard t == nil else { return }
      t = Task.detached { try? await group.run() }
    }
  }

  func stop() async {
    guard let t = task.withLock({ $0 }) else { return }
    await group.triggerGracefulShutdown()
    await t.value
  }
}

extension RequestTracer {
  /// Adds `trace.id` to every log record written inside a traced request (the
  /// provider adapters' lines included); nothing outside one.
  public static let loggingMetadataProvider = Logger.MetadataProvider {
    guard let id = RequestTrace.current?.traceID else { return [:] }
    return ["trace.id": "\(id)"]
  }
}
