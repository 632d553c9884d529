import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// A raw TCP server for client tests: it reads HTTP/1.1 requests byte by byte (head
/// plus `content-length` body) and answers each as the script says, counting the
/// connections it accepted and those still open. It does no HTTP itself beyond
/// finding where a request ends, so a test controls every byte and every close.
final class ScriptedHTTPServer: Sendable {
  /// What to do with one request.
  enum Reply: Sendable {
    /// Send these bytes; then close the connection if `close`.
    case send(String, close: Bool = false)
    /// Send these bytes and keep the connection open without ending the response,
    /// until `release()` lets held replies send `rest` (and close if `closeAfter`).
    case hold(first: String, rest: String, closeAfter: Bool = false)
    /// Close the connection without answering.
    case close
  }

  /// The script: (connection number from 1, request number on that connection from 1) → reply.
  typealias Script = @Sendable (_ connection: Int, _ request: Int) -> Reply

  private struct State {
    var accepted = 0
    var open = 0
    var requests = 0
    var held: [@Sendable () -> Void] = []
    var released = false
  }

  private let state = Mutex(State())
  private let script: Script
  private let channel: Mutex<(any Channel)?> = Mutex(nil)

  init(script: @escaping Script) {
    self.script = script
  }

  /// Connections accepted so far.
  var accepted: Int { state.withLock { $0.accepted } }
  /// Connections open now.
  var open: Int { state.withLock { $0.open } }
  /// Requests read so far.
  var requests: Int { state.withLock { $0.requests } }
  /// The port it listens on.
  var port: Int { channel.withLock { $0?.localAddress?.port ?? 0 } }
  /// Base URL of the OpenAI-compatible API it pretends to be.
  var baseURL: String { "http://127.0.0.1:\(port)/v1" }

  func start() async throws {
    let ch = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { [self] child in
        let number = state.withLock { s in s.accepted += 1; s.open += 1; return s.accepted }
        child.closeFuture.whenComplete { [self] _ in state.withLock { $0.open -= 1 } }
        return child.eventLoop.makeCompletedFuture {
          try child.pipeline.syncOperations.addHandler(Handler(server: self, connection: number))
        }
      }
      .bind(host: "127.0.0.1", port: 0).get()
    channel.withLock { $0 = ch }
  }

  /// Lets every held reply send the rest (now and from now on).
  func release() {
    let held = state.withLock { s in
      s.released = true
      defer { s.held.removeAll() }
      return s.held
    }
    for h in held { h() }
  }

  func shutdown() async throws {
    release()
    try await channel.withLock { $0 }?.close()
  }

  /// Runs `body` with a started server, shutting it down afterwards.
  static func with<T>(_ script: @escaping Script, _ body: (ScriptedHTTPServer) async throws -> T) async throws -> T {
    let server = ScriptedHTTPServer(script: script)
    try await server.start()
    do {
      let result = try await body(server)
      try await server.shutdown()
      return result
    } catch {
      try? await server.shutdown()
      throw error
    }
  }

  fileprivate func countRequest() { state.withLock { $0.requests += 1 } }
  fileprivate func reply(_ connection: Int, _ request: Int) -> Reply { script(connection, request) }

  /// Runs `send` now if released, else when `release()` is called.
  fileprivate func whenReleased(_ send: @escaping @Sendable () -> Void) {
    let now = state.withLock { s in
      if s.released { return true }
      s.held.append(send)
      return false
    }
    if now { send() }
  }

  private final class Handler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let server: ScriptedHTTPServer
    let connection: Int
    var buffer = ByteBuffer()
    var served = 0

    init(server: ScriptedHTTPServer, connection: Int) {
      self.server = server
      self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
      var part = unwrapInboundIn(data)
      buffer.writeBuffer(&part)
      while let length = requestLength() {
        buffer.moveReaderIndex(forwardBy: length)
        served += 1
        server.countRequest()
        answer(context: context, server.reply(connection, served))
      }
    }

    /// Length of the first complete request in the buffer, if there is one.
    func requestLength() -> Int? {
      let text = String(buffer: buffer)
      guard let end = text.range(of: "\r\n\r\n") else { return nil }
      let head = text[..<end.lowerBound].lowercased()
      var bodyLength = 0
      for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
        bodyLength = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
      }
      let headLength = text.utf8.distance(from: text.utf8.startIndex, to: end.upperBound)
      return buffer.readableBytes >= headLength + bodyLength ? headLength + bodyLength : nil
    }

    func answer(context: ChannelHandlerContext, _ reply: Reply) {
      switch reply {
      case .send(let bytes, let close):
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: bytes)), promise: nil)
        if close { context.close(promise: nil) }
      case .hold(let first, let rest, let closeAfter):
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: first)), promise: nil)
        let channel = context.channel
        server.whenReleased {
          channel.writeAndFlush(ByteBuffer(string: rest)).whenComplete { _ in
            if closeAfter { channel.close(promise: nil) }
          }
        }
      case .close:
        context.close(promise: nil)
      }
    }
  }
}

/// Canned answers of the scripted server.
enum Canned {
  static let completionBody = #"{"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#

  /// A complete unary answer (keep-alive unless `close`).
  static func completion(close: Bool = false) -> String {
    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: \(completionBody.utf8.count)\r\n"
      + (close ? "connection: close\r\n" : "") + "\r\n" + completionBody
  }

  static let streamHead = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"

  /// One SSE chunk in HTTP chunked encoding.
  static func chunk(_ event: String) -> String {
    let payload = "data: \(event)\n\n"
    return String(payload.utf8.count, radix: 16) + "\r\n" + payload + "\r\n"
  }

  static func textDelta(_ text: String) -> String {
    chunk(#"{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"\#(text)"},"finish_reason":null}]}"#)
  }

  static let streamEnd = chunk(#"{"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#)
    + chunk("[DONE]") + "0\r\n\r\n"
}
