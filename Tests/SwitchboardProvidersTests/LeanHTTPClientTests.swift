import Foundation
import NIOCore
import NIOHTTP1
import SwitchboardCore
import Testing
@testable import SwitchboardProviders

/// Behaviour of the lean HTTP/1.1 client against a scripted raw TCP server, both
/// directly and through `HTTPProviderAdapter` (the daemon's path to `http://`
/// providers). Correctness only: nothing here is timed.
@Suite("Lean HTTP client")
struct LeanHTTPClientTests {
  /// Events of one request as text: `sent`, `head 200`, `body`, `end`, `failed: …`.
  final class Recorder: Sendable {
    let stream: AsyncStream<String>
    let continuation: AsyncStream<String>.Continuation
    init() { (stream, continuation) = AsyncStream.makeStream(of: String.self) }

    var sink: @Sendable (AttemptEvent) -> Void {
      { [continuation] event in
        switch event {
        case .requestSent: continuation.yield("sent")
        case .head(let h): continuation.yield("head \(h.status.code)")
        case .body: continuation.yield("body")
        case .end: continuation.yield("end"); continuation.finish()
        case .failed(let e):
          continuation.yield("failed: \((e as? LeanHTTPClientError)?.shortDescription ?? "\(type(of: e))")")
          continuation.finish()
        case .limit: continuation.yield("limit")
        }
      }
    }

    /// Everything until the terminal event, body parts folded into one `body`.
    func all() async -> [String] {
      var out: [String] = []
      for await e in stream where !(e == "body" && out.last == "body") { out.append(e) }
      return out
    }
  }

  static func post(_ client: LeanHTTPClient, _ server: ScriptedHTTPServer) throws -> (LeanHTTPTask, Recorder) {
    let recorder = Recorder()
    let task = try client.post(url: server.baseURL + "/chat/completions", headers: ["content-type": "application/json"],
                               body: ByteBuffer(string: #"{"model":"m"}"#), onEvent: recorder.sink)
    return (task, recorder)
  }

  static let answered = ["sent", "head 200", "body", "end"]

  /// Waits (bounded) until `condition` holds; a wait for a state, not a timing assertion.
  static func eventually(_ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(30)  // generous: a loaded machine can starve us for seconds
    while !condition() && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
  }

  static func adapter(_ server: ScriptedHTTPServer, _ client: LeanHTTPClient) throws -> any ProviderAdapter {
    try ProviderFactory.make(name: "scripted", kind: "openai", settings: HTTPProviderSettings(preset: "custom", baseURL: server.baseURL),
                             httpClient: Support.client, leanClient: client)
  }

  @Test func sequentialRequestsReuseOneKeepAliveConnection() async throws {
    let client = LeanHTTPClient()
    try await ScriptedHTTPServer.with({ _, _ in .send(Canned.completion()) }) { server in
      for _ in 0..<5 {
        let (_, r) = try Self.post(client, server)
        #expect(await r.all() == Self.answered)
      }
      #expect(server.accepted == 1)
      #expect(server.requests == 5)
      #expect(client.openConnections(host: "127.0.0.1", port: server.port) == 1)
    }
    await client.shutdown()
  }

  @Test func connectionCloseAnswersAreNotReused() async throws {
    let client = LeanHTTPClient()
    try await ScriptedHTTPServer.with({ _, _ in .send(Canned.completion(close: true)) }) { server in
      for _ in 0..<3 {
        let (_, r) = try Self.post(client, server)
        #expect(await r.all() == Self.answered)
      }
      #expect(server.accepted == 3)
    }
    await client.shutdown()
  }

  @Test func aConnectionTheServerClosedIsDroppedAndTheNextRequestConnectsAgain() async throws {
    let client = LeanHTTPClient()
    // A keep-alive answer, then the server closes the idle connection anyway.
    try await ScriptedHTTPServer.with({ _, _ in .send(Canned.completion(), close: true) }) { server in
      let (_, first) = try Self.post(client, server)
      #expect(await first.all() == Self.answered)
      try await Self.eventually { client.openConnections(host: "127.0.0.1", port: server.port) == 0 }
      #expect(client.openConnections(host: "127.0.0.1", port: server.port) == 0)
      let (_, second) = try Self.post(client, server)
      #expect(await second.all() == Self.answered)
      #expect(server.accepted == 2)
    }
    await client.shutdown()
  }

  @Test func aServerClosingBeforeTheHeadFailsTheRequest() async throws {
    let client = LeanHTTPClient()
    try await ScriptedHTTPServer.with({ _, _ in .close }) { server in
      let (_, r) = try Self.post(client, server)
      let events = await r.all()
      #expect(events.last == "failed: remote connection closed")
      #expect(!events.contains("head 200"))
    }
    await client.shutdown()
  }

  @Test func slowHeadersEndAtTheAttemptDeadlineAndTheConnectionIsNotReused() async throws {
    let client = LeanHTTPClient()
    // Connection 1 never sends a head; connection 2 answers.
    try await ScriptedHTTPServer.with({ c, _ in c == 1 ? .hold(first: "", rest: "") : .send(Canned.completion()) }) { server in
      let adapter = try Self.adapter(server, client)
      let f = try #require(await Support.failure {
        try await adapter.complete(Support.call("m", total: .seconds(1)), onDelta: nil)
      })
      #expect(f.reason == .timeout)
      #expect(!f.afterHeaders)
      try await Self.eventually { server.open == 0 }
      #expect(server.open == 0, "the timed-out request's connection was closed")
      let response = try await adapter.complete(Support.call("m"), onDelta: nil)
      #expect(response.content == "hi there")
      #expect(server.accepted == 2)
    }
    await client.shutdown()
  }

  @Test func aCutStreamIsAStreamCutAfterTheDeltasItCarried() async throws {
    let client = LeanHTTPClient()
    let cut = Canned.streamHead + Canned.textDelta("a") + Canned.textDelta("b")
    try await ScriptedHTTPServer.with({ _, _ in .send(cut, close: true) }) { server in
      let adapter = try Self.adapter(server, client)
      let deltas = Support.Deltas()
      let f = try #require(await Support.failure {
        // Limits far beyond the cut: only its classification is under test.
        try await adapter.complete(Support.call("m", idle: .seconds(60), total: .seconds(120)), onDelta: deltas.handler)
      })
      #expect(f.reason == .streamCut)
      #expect(f.afterHeaders)
      #expect(deltas.text == "ab")
    }
    await client.shutdown()
  }

  @Test func aWholeStreamIsDeliveredAndItsConnectionReused() async throws {
    let client = LeanHTTPClient()
    let whole = Canned.streamHead + Canned.textDelta("a") + Canned.textDelta("b") + Canned.streamEnd
    try await ScriptedHTTPServer.with({ _, _ in .send(whole) }) { server in
      let adapter = try Self.adapter(server, client)
      for _ in 0..<3 {
        let deltas = Support.Deltas()
        let response = try await adapter.complete(Support.call("m"), onDelta: deltas.handler)
        #expect(response.content == "ab")
        #expect(deltas.text == "ab")
      }
      #expect(server.accepted == 1)
    }
    await client.shutdown()
  }

  @Test func aRefusedConnectionIsConnectFailed() async throws {
    let client = LeanHTTPClient()
    let closed = try ClosedPort()  // bound, never listening: refused every time
    let url = closed.baseURL
    let adapter = try ProviderFactory.make(name: "refused", kind: "openai", settings: HTTPProviderSettings(preset: "custom", baseURL: url),
                                           httpClient: Support.client, leanClient: client)
    let f = try #require(await Support.failure { try await adapter.complete(Support.call("m"), onDelta: nil) })
    #expect(f.reason == .connectFailed)
    withExtendedLifetime(closed) {}
    await client.shutdown()
  }

  @Test func thePoolLimitQueuesRequestsAndServesThemAllOnItsConnections() async throws {
    let client = LeanHTTPClient(configuration: .init(maxConnectionsPerHost: 2))
    try await ScriptedHTTPServer.with({ _, _ in .hold(first: "", rest: Canned.completion()) }) { server in
      var recorders: [Recorder] = []
      for _ in 0..<6 { recorders.append(try Self.post(client, server).1) }
      try await Self.eventually { server.requests == 2 && client.waitingRequests(host: "127.0.0.1", port: server.port) == 4 }
      #expect(server.requests == 2)
      #expect(client.waitingRequests(host: "127.0.0.1", port: server.port) == 4)
      #expect(client.openConnections(host: "127.0.0.1", port: server.port) == 2)
      server.release()
      for r in recorders { #expect(await r.all() == Self.answered) }
      #expect(server.accepted == 2)
      #expect(server.requests == 6)
    }
    await client.shutdown()
  }

  /// A pool of one connection to a server that holds every answer until `release()`,
  /// kept busy by a first request (`first`, answered once released).
  static func withBusyPool(_ body: (ScriptedHTTPServer, LeanHTTPClient, any ProviderAdapter,
                                    Task<ProviderResponse, any Error>) async throws -> Void) async throws {
    let client = LeanHTTPClient(configuration: .init(maxConnectionsPerHost: 1))
    try await ScriptedHTTPServer.with({ _, _ in .hold(first: "", rest: Canned.completion()) }) { server in
      let adapter = try Self.adapter(server, client)
      let first = Task { try await adapter.complete(Support.call("m", total: .seconds(60)), onDelta: nil) }
      try await Self.eventually { server.requests == 1 }
      try await body(server, client, adapter, first)
    }
    await client.shutdown()
  }

  @Test func aRequestQueuedForABusyPoolRunsNoConnectLimit() async throws {
    // Every connection the pool may open is busy: the next request waits in the
    // daemon's own queue. That wait is not a connection attempt, so a connect limit
    // far shorter than it does not fail the request (it did: `connect_failed`, and
    // the provider's circuit counted the daemon's own overload).
    try await Self.withBusyPool { server, client, adapter, first in
      let second = Task {
        try await adapter.complete(Support.call("m", connect: .milliseconds(50), total: .seconds(60)), onDelta: nil)
      }
      try await Self.eventually { client.waitingRequests(host: "127.0.0.1", port: server.port) == 1 }
      try await Task.sleep(for: .milliseconds(500))  // ten connect limits in the queue
      server.release()
      #expect(try await first.value.content == "hi there")
      #expect(try await second.value.content == "hi there")
      #expect(server.accepted == 1, "the second request waited for the first one's connection")
    }
  }

  @Test func aRequestThatWaitsForABusyPoolUntilItsDeadlineFailsAsTheDaemonsOwn() async throws {
    try await Self.withBusyPool { server, client, adapter, first in
      let f = try #require(await Support.failure {
        try await adapter.complete(Support.call("m", connect: .milliseconds(50), total: .milliseconds(400)), onDelta: nil)
      })
      #expect(f.reason == .timeout)
      #expect(f.local, "nothing left the daemon: not the provider's failure")
      #expect(f.silent)
      #expect(client.waitingRequests(host: "127.0.0.1", port: server.port) == 0, "it left the queue")
      server.release()
      #expect(try await first.value.content == "hi there")
      #expect(server.requests == 1)
    }
  }

  @Test func aConnectionThatCannotBeMadeInTimeIsStillConnectFailed() async throws {
    // The connect limit still runs while a connection is being opened: a TLS
    // handshake the server never answers ends at the call's connect limit (the
    // client's own handshake limit is far longer) as the provider's failure.
    let client = LeanHTTPClient(configuration: .init(maxConnectionsPerHost: 1, connectTimeout: .seconds(30)))
    try await ScriptedHTTPServer.with({ _, _ in .close }) { server in  // reads the ClientHello, never answers
      let url = server.baseURL.replacingOccurrences(of: "http://", with: "https://")
      let adapter = try ProviderFactory.make(name: "silent", kind: "openai", settings: HTTPProviderSettings(preset: "custom", baseURL: url),
                                             httpClient: Support.client, leanClient: client)
      let f = try #require(await Support.failure {
        try await adapter.complete(Support.call("m", connect: .milliseconds(200), total: .seconds(30)), onDelta: nil)
      })
      #expect(f.reason == .connectFailed, "\(f.message)")
      #expect(f.silent)
      #expect(!f.local)
    }
    await client.shutdown()
  }

  @Test func aCancelledWaiterLeavesTheQueue() async throws {
    let client = LeanHTTPClient(configuration: .init(maxConnectionsPerHost: 1))
    try await ScriptedHTTPServer.with({ _, _ in .hold(first: "", rest: Canned.completion()) }) { server in
      let (_, a) = try Self.post(client, server)
      let (b, bEvents) = try Self.post(client, server)
      try await Self.eventually { client.waitingRequests(host: "127.0.0.1", port: server.port) == 1 }
      b.cancel()
      #expect(await bEvents.all() == ["failed: cancelled"])
      #expect(client.waitingRequests(host: "127.0.0.1", port: server.port) == 0)
      server.release()
      #expect(await a.all() == Self.answered)
      #expect(server.requests == 1)
    }
    await client.shutdown()
  }

  @Test func cancellingAStreamingCallMidStreamClosesItsConnectionAndFreesThePool() async throws {
    let client = LeanHTTPClient(configuration: .init(maxConnectionsPerHost: 1))
    let started = Canned.streamHead + Canned.textDelta("a")
    try await ScriptedHTTPServer.with({ c, _ in c == 1 ? .hold(first: started, rest: "") : .send(Canned.completion()) }) { server in
      let adapter = try Self.adapter(server, client)
      let deltas = Support.Deltas()
      let call = Task { try await adapter.complete(Support.call("m"), onDelta: deltas.handler) }
      try await Self.eventually { deltas.text == "a" }
      #expect(deltas.text == "a")
      call.cancel()
      await #expect(throws: CancellationError.self) { _ = try await call.value }
      try await Self.eventually { server.open == 0 && client.openConnections(host: "127.0.0.1", port: server.port) == 0 }
      #expect(server.open == 0, "the half-read stream's connection was closed, not returned to the pool")
      #expect(client.openConnections(host: "127.0.0.1", port: server.port) == 0)
      // With a pool of one, the next call gets a connection at once.
      let response = try await adapter.complete(Support.call("m"), onDelta: nil)
      #expect(response.content == "hi there")
      #expect(server.accepted == 2)
    }
    await client.shutdown()
  }

  @Test func aGarbageAnswerFailsTheCallAndItsConnectionIsNotReused() async throws {
    let client = LeanHTTPClient()
    try await ScriptedHTTPServer.with({ c, _ in c == 1 ? .send("SMTP ready\r\n\r\n") : .send(Canned.completion()) }) { server in
      let adapter = try Self.adapter(server, client)
      let f = try #require(await Support.failure { try await adapter.complete(Support.call("m"), onDelta: nil) })
      #expect(f.reason == .connectionReset)
      try await Self.eventually { server.open == 0 }
      let response = try await adapter.complete(Support.call("m"), onDelta: nil)
      #expect(response.content == "hi there")
      #expect(server.accepted == 2)
    }
    await client.shutdown()
  }

  @Test func bytesNobodyAskedForCloseAnIdleConnection() async throws {
    let client = LeanHTTPClient()
    // The answer is followed by a second, unrequested one on the same connection.
    try await ScriptedHTTPServer.with({ c, _ in c == 1 ? .send(Canned.completion() + Canned.completion()) : .send(Canned.completion()) }) { server in
      let (_, first) = try Self.post(client, server)
      #expect(await first.all() == Self.answered)
      try await Self.eventually { client.openConnections(host: "127.0.0.1", port: server.port) == 0 }
      #expect(client.openConnections(host: "127.0.0.1", port: server.port) == 0)
      let (_, second) = try Self.post(client, server)
      #expect(await second.all() == Self.answered)
      #expect(server.accepted == 2)
    }
    await client.shutdown()
  }

  @Test(arguments: [
    ("http://127.0.0.1:8080/v1/chat/completions", "127.0.0.1", 8080, "/v1/chat/completions"),
    ("HTTP://Example.com/v1?x=1", "Example.com", 80, "/v1?x=1"),
    ("http://[::1]:9/", "::1", 9, "/"),
    ("http://host", "host", 80, "/"),
  ])
  func targetsParse(_ url: String, _ host: String, _ port: Int, _ path: String) throws {
    let t = try #require(LeanHTTPTarget(url))
    #expect(t.host == host)
    #expect(t.port == port)
    #expect(t.path == path)
  }

  @Test(arguments: ["https://", "http://", "http://:80/", "http://h:0/", "http://h:99999/", "http://u@h/", "https://u@h/", "ftp://h/"])
  func otherURLsAreRefused(_ url: String) {
    #expect(LeanHTTPTarget(url) == nil)
  }
}
