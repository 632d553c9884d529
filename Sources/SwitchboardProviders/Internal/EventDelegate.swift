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
  private let continuation: AsyncStream<AttemptEvent>.Continuation
  private let watchdog: AttemptWatchdog

  init(_ continuation: AsyncStream<AttemptEvent>.Continuation, watchdog: AttemptWatchdog) {
    self.continuation = continuation
    self.watchdog = watchdog
  }

  // The connect limit is cleared here, on the event loop, when the wire event
  // happens: clearing it only when the async consumer gets to the event let a busy
  // consumer turn a connection made in time into a `connect_failed`.

  func didSendRequestHead(task: HTTPClient.Task<Void>, _ head: HTTPRequestHead) {
    watchdog.set(.connect, nil)
    continuation.yield(.requestSent)
  }

  func didReceiveHead(task: HTTPClient.Task<Void>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
    watchdog.set(.connect, nil)
    continuation.yield(.head(head))
    return task.eventLoop.makeSucceededVoidFuture()
  }

  func didReceiveBodyPart(task: HTTPClient.Task<Void>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
    continuation.yield(.body(buffer))
    return task.eventLoop.makeSucceededVoidFuture()
  }

  func didReceiveError(task: HTTPClient.Task<Void>, _ error: any Error) {
    continuation.yield(.failed(error))
    continuation.finish()
  }

  func didFinishRequest(task: HTTPClient.Task<Void>) throws {
    continuation.yield(.end)
    continuation.finish()
  }
}
