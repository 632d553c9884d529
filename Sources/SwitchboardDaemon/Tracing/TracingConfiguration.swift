import Foundation

/// The `tracing:` block: OpenTelemetry traces exported over OTLP/HTTP (protobuf).
/// Off unless `otlp_endpoint` is set; when off the daemon creates no exporter and
/// no spans (a caller's `traceparent` is still recorded and forwarded).
public struct TracingConfiguration: Sendable, Hashable {
  /// Base URL of an OTLP/HTTP collector (`http(s)://host:port`, optionally a path
  /// prefix); spans go to `<base>/v1/traces` unless the URL already ends in
  /// `/v1/traces`. nil (the default): tracing is off.
  public var otlpEndpoint: String?
  /// Share of new traces (requests without a caller's context) that are sampled,
  /// 0...1. A caller's `traceparent` decides for its own trace (parent-based
  /// sampling). Default: 1.0.
  public var sampleRatio: Double = 1.0
  /// `service.name` of the exported resource. Default: `switchboardd`.
  public var serviceName: String = "switchboardd"
  /// Longest wait between two exports of finished spans. Default: 5 s.
  public var exportInterval: Duration = .seconds(5)
  /// Limit of one export call (the collector not answering). Default: 10 s.
  public var exportTimeout: Duration = .seconds(10)

  /// Creates the default (off) configuration.
  public init() {}

  /// Whether spans are created and exported.
  public var isEnabled: Bool { otlpEndpoint != nil }

  /// The URL spans are POSTed to, derived from `otlpEndpoint`.
  public var tracesURL: String? {
    guard var base = otlpEndpoint else { return nil }
    if base.hasSuffix("/v1/traces") { return base }
    while base.hasSuffix("/") { base.removeLast() }
    return base + "/v1/traces"
  }

  /// Why `url` cannot be an OTLP endpoint, or nil when it can. The reason never
  /// quotes the value (it may carry credentials pasted by mistake).
  public static func endpointProblem(_ url: String) -> String? {
    guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased() else {
      return "expected an http(s) URL such as http://127.0.0.1:4318"
    }
    guard scheme == "http" || scheme == "https" else { return "the scheme must be http or https (OTLP/HTTP; gRPC is not built in)" }
    guard let host = c.host, !host.isEmpty else { return "the URL has no host" }
    guard c.user == nil, c.password == nil else { return "must not carry credentials (user:password@)" }
    guard c.query == nil, c.fragment == nil else { return "must not have a query or fragment" }
    return nil
  }

  /// Whether `name` can be a `service.name`: 1–128 printable ASCII characters.
  public static func isValidServiceName(_ name: String) -> Bool {
    !name.isEmpty && name.utf8.count <= 128 && name.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
  }
}
