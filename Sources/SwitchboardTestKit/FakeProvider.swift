import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A real HTTP/1.1 LLM provider on 127.0.0.1 for tests and drills: speaks the
/// OpenAI Chat Completions (`POST /v1/chat/completions`, also Azure's
/// `/openai/deployments/{model}/chat/completions`) and Anthropic Messages
/// (`POST /v1/messages`) formats, unary and SSE, with scripted faults.
/// Every request is recorded before it is answered.
public final class FakeProvider: Sendable {
  /// Settings of the fake.
  public struct Configuration: Sendable {
    /// Host to bind; default 127.0.0.1.
    public var host = "127.0.0.1"
    /// Port to bind; default 0 (ephemeral).
    public var port = 0
    /// Cached input tokens reported per answer; default 0.
    public var cachedInputTokens = 0
    /// Cache-write input tokens reported per answer (Anthropic); default 0.
    public var cacheWriteTokens = 0
    /// Input tokens to report instead of the body size / 4 (e.g. more than was sent,
    /// like a provider whose usage exceeds any estimate). Default: nil.
    public var reportedInputTokens: Int? = nil
    /// Output tokens to report instead of the pieces actually sent. Default: nil.
    public var reportedOutputTokens: Int? = nil
    /// Pause between streamed events; default none.
    public var chunkInterval: Duration = .zero
    /// Streamed: while the answer is held back (`slowFirstToken`, `keepAlivesOnly`),
    /// a keep-alive (OpenAI-style SSE comment, Anthropic `ping` event) this often;
    /// default 50 ms, zero for none.
    public var keepAliveInterval: Duration = .milliseconds(50)
    /// Serve HTTPS with this certificate and key (PEM) instead of plain HTTP; default
    /// nil. `TestCertificates` has a test CA and certificates it signed.
    public var tls: (certificatePEM: String, keyPEM: String)? = nil
    /// Creates the default settings.
    public init() {}
  }

  /// Which wire format a request used.
  public enum WireFormat: String, Sendable, Hashable { case openai, anthropic, unknown }

  /// One request as the fake saw it.
  public struct Attempt: Sendable {
    /// When the request was complete (monotonic).
    public var at: ContinuousClock.Instant
    /// The request path including any query.
    public var uri: String
    /// The path without the query.
    public var path: String
    /// The wire format of the path.
    public var format: WireFormat
    /// The model from the body (or the Azure deployment).
    public var model: String
    /// Request headers in order.
    public var headers: [(name: String, value: String)]
    /// The body as text.
    public var bodyText: String
    /// The body as JSON (`.null` when it was not JSON).
    public var body: FakeJSON
    /// The fault applied.
    public var fault: FakeFault
    /// Whether the request asked for a stream.
    public var stream: Bool

    /// The first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
      headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
  }

  private struct State {
    var script: FakeScript
    var attempts: [Attempt] = []
    var serverChannel: (any Channel)?
    var children: [ObjectIdentifier: any Channel] = [:]
    var port = 0
    var handshakes = 0
  }

  /// The settings.
  public let configuration: Configuration
  private let state: Mutex<State>
  private let group: any EventLoopGroup

  /// Creates a fake provider (not yet listening).
  public init(configuration: Configuration = Configuration(), script: FakeScript = FakeScript(),
              group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
    self.configuration = configuration
    self.state = Mutex(State(script: script))
    self.group = group
  }

  /// The bound port (0 before `start`).
  public var port: Int { state.withLock { $0.port } }
  /// `http://127.0.0.1:PORT/v1`, the base URL both dialects append their paths to.
  public var baseURL: String { "\(scheme)://\(configuration.host):\(port)/v1" }
  /// `http://127.0.0.1:PORT`, the root (the Azure resource endpoint).
  public var rootURL: String { "\(scheme)://\(configuration.host):\(port)" }
  /// `https` when serving TLS, else `http`.
  public var scheme: String { configuration.tls == nil ? "http" : "https" }
  /// TLS handshakes that completed (HTTPS only): one per connection the clients kept.
  public var handshakes: Int { state.withLock { $0.handshakes } }

  /// The most recent requests (up to ``attemptLogLimit``), in arrival order.
  public var attempts: [Attempt] { state.withLock { Array($0.attempts.suffix(Self.attemptLogLimit)) } }

  /// How many recorded attempts ``attempts`` keeps (the most recent): the
  /// standalone `fake-provider` serves benchmarks for millions of requests and
  /// kept every request's headers and body (~1.2 KB each) before.
  public static let attemptLogLimit = 10_000

  /// Appends faults to the global queue (consumed by the next requests, any model).
  public func enqueue(_ faults: FakeFault...) { state.withLock { $0.script.sequence.append(contentsOf: faults) } }

  /// Appends faults to the queue of `model`.
  public func script(model: String, _ faults: FakeFault...) {
    state.withLock { $0.script.models[model, default: []].append(contentsOf: faults) }
  }

  /// Forgets recorded attempts.
  public func resetAttempts() { state.withLock { $0.attempts.removeAll() } }

  /// Starts listening.
  public func start() async throws {
    let tlsContext = try configuration.tls.map { tls in
      try NIOSSLContext(configuration: .makeServerConfiguration(
        certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(tls.certificatePEM.utf8)).map { .certificate($0) },
        privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(tls.keyPEM.utf8), format: .pem))))
    }
    let bootstrap = ServerBootstrap(group: group)
      .serverChannelOption(.backlog, value: 256)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
      .childChannelInitializer { [self] channel in
        channel.eventLoop.makeCompletedFuture {
          if let tlsContext {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tlsContext))
            try channel.pipeline.syncOperations.addHandler(FakeHandshakeCounter(provider: self))
          }
          try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
          try channel.pipeline.syncOperations.addHandler(FakeProviderHandler(provider: self))
          self.track(channel)
        }
      }
    let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
    state.withLock {
      $0.serverChannel = channel
      $0.port = channel.localAddress?.port ?? 0
    }
  }

  /// Stops listening and closes every open connection (hung and stalled ones included).
  public func shutdown() async throws {
    let (server, children) = state.withLock { s -> ((any Channel)?, [any Channel]) in
      defer { s.serverChannel = nil; s.children = [:] }
      return (s.serverChannel, Array(s.children.values))
    }
    for child in children { try? await child.close() }
    try await server?.close()
  }

  func handshakeCompleted() { state.withLock { $0.handshakes += 1 } }

  private func track(_ channel: any Channel) {
    let id = ObjectIdentifier(channel)
    state.withLock { $0.children[id] = channel }
    channel.closeFuture.whenComplete { [self] _ in _ = self.state.withLock { $0.children.removeValue(forKey: id) } }
  }

  /// Records a request and returns the fault to apply.
  func record(uri: String, path: String, format: WireFormat, model: String, headers: HTTPHeaders, body: ByteBuffer,
              stream: Bool) -> FakeFault {
    let text = String(buffer: body)
    let json = FakeJSON(data: Data(text.utf8)) ?? .null
    return state.withLock { s in
      let fault = s.script.next(model: model)
      if s.attempts.count >= 2 * Self.attemptLogLimit { s.attempts.removeFirst(s.attempts.count - Self.attemptLogLimit) }
      s.attempts.append(Attempt(at: .now, uri: uri, path: path, format: format, model: model,
                                headers: headers.map { ($0.name, $0.value) }, bodyText: text, body: json,
                                fault: fault, stream: stream))
      return fault
    }
  }
}
