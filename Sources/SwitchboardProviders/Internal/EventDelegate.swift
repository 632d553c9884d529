import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// What happened on the wire during one attempt, in order.
enum AttemptEvent: Sendable {
  /// The request head was written: a connection exists.
  case requestSent
  /// The response head arrived.
  case head(HTTPResponseHead)
  /// A body part arrived.
  case body(ByteBuffer)
  /// The response ended cleanly.
  case end
  /// The request failed (connection error, parse error, cancellation).
  case failed(any Error)
  /// A time limit passed.
  case limit(AttemptWatchdog.Limit)
}

/// Forwards AsyncHTTPClient's delegate callbacks into an `AsyncStream`, so one
/// async loop sees the wire events and the watchdog's limits in order.
///
/// Body parts are acknowledged immediately (no back-pressure): LLM answers are
/// small and the consumer bounds what it buffers (`maxResponseBytes`).
final class EventDelegate: HTTPClientResponseDelegate {
  typealias Response = Void
  private let sink: AttemptEventSink

  init(_ sink: AttemptEventSink) {
    self.sink = sink
  }

  func didSendRequestHead(task: HTTPClient.Task<Void>, _ head: HTTPRequestHead) {
    sink(.requestSent)
  }

  func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
    sink(.head(head))
    return task.eventLoop.makeSucceededVoidFuture()
  }

  func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
    sink(.body(buffer))
    return task.eventLoop.makeSucceededVoidFuture()
  }

  func didReceiveError(task: HTTPClient.Task<Void>, _ error: any Error) {
    sink(.failed(error))
  }

  func didFinishRequest(task: HTTPClient.Task<Void>) throws {
    sink(.end)
  }
}
