/// Time limits of one attempt, as the executor hands them to an adapter.
/// Adapters enforce them (an HTTP adapter with its client's timeouts and idle
/// timers, the simulated one on the injected clock).
public struct AttemptLimits: Sendable, Hashable {
  /// Time to establish a connection.
  public var connect: Duration
  /// Streamed only: time from sending the request to the first decoded content
  /// or tool-call delta. A unary call is bounded by `connect` and `deadline`
  /// only (providers answer a non-streamed call when the generation is done).
  public var firstToken: Duration
  /// Streamed only: the longest gap between two content events; keep-alives
  /// (SSE comments, pings, events without content) never restart it.
  public var idle: Duration
  /// Streamed only: while keep-alives keep arriving at most `idle` apart, the gap
  /// between content events may stretch up to this ceiling; nil (or at most
  /// `idle`): keep-alives buy no time.
  public var keepAliveCeiling: Duration?
  /// Absolute end of the attempt: min(attempt timeout, the request's overall deadline).
  public var deadline: Instant
  /// Whether `deadline` is the request's overall deadline (so expiry is `deadline_exceeded`).
  public var deadlineIsOverall: Bool
  /// Creates limits.
  public init(connect: Duration, firstToken: Duration, idle: Duration, keepAliveCeiling: Duration? = nil,
              deadline: Instant, deadlineIsOverall: Bool = false) {
    self.connect = connect; self.firstToken = firstToken; self.idle = idle; self.keepAliveCeiling = keepAliveCeiling
    self.deadline = deadline; self.deadlineIsOverall = deadlineIsOverall
  }
}

/// Everything an adapter needs for one attempt.
public struct ProviderCall: Sendable {
  /// The provider-neutral request.
  public var request: ChatRequest
  /// The provider's model id.
  public var model: String
  /// The key to send, if the provider needs one.
  public var apiKey: Secret?
  /// Assistant text already delivered, to continue from (prefill), or nil.
  public var prefill: String?
  /// Time limits.
  public var limits: AttemptLimits
  /// The clock the limits are measured on.
  public var clock: any RouterClock
  /// 1-based attempt number within the request.
  public var attempt: Int
  /// The request id, for the provider's logs.
  public var requestID: String
  /// W3C `traceparent` to send with the provider request (the attempt's span, or
  /// the caller's context when tracing is off); nil: none. Set by the daemon's
  /// tracing, already validated.
  public var traceParent: String? = nil
  /// W3C `tracestate` that goes with `traceParent`.
  public var traceState: String? = nil
  /// Creates a call.
  public init(request: ChatRequest, model: String, apiKey: Secret?, prefill: String? = nil, limits: AttemptLimits,
              clock: any RouterClock, attempt: Int = 1, requestID: String = "") {
    self.request = request; self.model = model; self.apiKey = apiKey; self.prefill = prefill
    self.limits = limits; self.clock = clock; self.attempt = attempt; self.requestID = requestID
  }
}

/// Receives streamed deltas; throwing stops the attempt (e.g. the client went away).
public typealias DeltaHandler = @Sendable (StreamDelta) async throws -> Void

/// A provider backend. Implementations: simulated (in process), OpenAI-compatible
/// and Anthropic over HTTP. Failures are thrown as `ProviderFailure`.
public protocol ProviderAdapter: Sendable {
  /// The provider instance's name from the config (e.g. `groq`).
  var name: String { get }
  /// The adapter kind (`simulated`, `openai`, `anthropic`).
  var kind: String { get }
  /// The conventional environment variable holding this provider's key, or nil
  /// when the provider needs no key.
  var conventionalKeyEnvironmentVariable: String? { get }
  /// Whether a call without a key is pointless (a missing key is then a hard failure).
  var requiresKey: Bool { get }
  /// Runs one attempt. With `onDelta` the answer is streamed through it as it
  /// arrives and the returned response holds the whole answer and its usage.
  func complete(_ call: ProviderCall, onDelta: DeltaHandler?) async throws -> ProviderResponse
}
