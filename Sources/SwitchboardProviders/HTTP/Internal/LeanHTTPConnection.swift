import NIOCore
import NIOHTTP1

/// One keep-alive HTTP/1.1 connection of `LeanHTTPClient`: a NIO channel with
/// NIO's HTTP/1.1 codec and a `LeanHTTPConnectionHandler` that runs one request at
/// a time on it.
final class LeanHTTPConnection: Sendable {
  /// The pool it belongs to.
  let key: LeanHTTPTarget.PoolKey
  let channel: any Channel
  let handler: NIOLoopBound<LeanHTTPConnectionHandler>

  init(key: LeanHTTPTarget.PoolKey, channel: any Channel, handler: NIOLoopBound<LeanHTTPConnectionHandler>) {
    self.key = key
    self.channel = channel
    self.handler = handler
  }

  /// Whether the connection can take a request.
  var isActive: Bool { channel.isActive }

  /// Writes `task`'s request (head, body and end in one flush) on the channel's
  /// event loop; hops there when called from elsewhere.
  func start(_ task: LeanHTTPTask) {
    if channel.eventLoop.inEventLoop {
      handler.value.start(task)
    } else {
      channel.eventLoop.execute { self.handler.value.start(task) }
    }
  }

  /// Closes the connection (its close is reported to the pool by the close future).
  func close() {
    channel.close(promise: nil)
  }
}

/// Runs one request at a time on its connection and hands the response's parts to
/// the task. After a response that allows keep-alive, the connection goes back to
/// the pool; otherwise (`Connection: close`, HTTP/1.0 without keep-alive, an error)
/// it is closed. Bytes nobody asked for close the connection.
final class LeanHTTPConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = HTTPClientResponsePart
  typealias OutboundOut = HTTPClientRequestPart

  private let client: LeanHTTPClient
  private var context: ChannelHandlerContext?
  private var current: LeanHTTPTask?
  private var keepAlive = true
  /// Set once the connection object exists (right after connect); cleared on close.
  var connection: LeanHTTPConnection?

  init(client: LeanHTTPClient) {
    self.client = client
  }

  func handlerAdded(context: ChannelHandlerContext) {
    self.context = context
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    self.context = nil
  }

  func start(_ task: LeanHTTPTask) {
    guard let context, context.channel.isActive, current == nil else {
      // The connection closed (or is busy) as the task was handed to it: the
      // request was never written, so it may take another connection.
      client.requeue(task, from: connection)
      return
    }
    task.dispatched()
    current = task
    keepAlive = true
    let promise = context.eventLoop.makePromise(of: Void.self)
    promise.futureResult.whenSuccess { task.emit(.requestSent) }
    context.write(wrapOutboundOut(.head(task.head)), promise: promise)
    context.write(wrapOutboundOut(.body(.byteBuffer(task.body))), promise: nil)
    context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
  }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    guard let task = current else {
      context.close(promise: nil)
      return
    }
    switch unwrapInboundIn(data) {
    case .head(let head):
      keepAlive = Self.isKeepAlive(head)
      task.emit(.head(head))
    case .body(let part):
      task.emit(.body(part))
    case .end:
      current = nil
      // Back in the pool before the caller hears of the end, so a caller that sends
      // its next request at once finds this connection idle.
      if keepAlive, context.channel.isActive, let connection {
        client.release(connection)
      } else {
        context.close(promise: nil)
      }
      task.finish(.end)
    }
  }

  func channelInactive(context: ChannelHandlerContext) {
    if let task = current {
      current = nil
      task.finish(.failed(LeanHTTPClientError.connectionClosed))
    }
    connection = nil
    context.fireChannelInactive()
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    if let task = current {
      current = nil
      task.finish(.failed(error is HTTPParserError ? LeanHTTPClientError.invalidResponse : error))
    }
    context.close(promise: nil)
  }

  /// HTTP/1.1 keeps the connection unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
  static func isKeepAlive(_ head: HTTPResponseHead) -> Bool {
    let tokens = head.headers[canonicalForm: "connection"].map { $0.lowercased() }
    if head.version.major == 1 && head.version.minor == 0 { return tokens.contains("keep-alive") }
    return !tokens.contains("close")
  }
}
