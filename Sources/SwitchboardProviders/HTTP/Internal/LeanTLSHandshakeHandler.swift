import NIOCore
import NIOSSL
import NIOTLS

/// Sits behind `NIOSSLClientHandler` on a new `https` connection and completes
/// `handshakeDone` when the handshake (and the host-name check) has finished, or
/// fails it with the first error, a close, or the handshake limit — so the lean
/// client writes a request only on a verified connection, and a TLS failure is a
/// connect failure (nothing was sent). The client removes it once done.
final class LeanTLSHandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = NIOAny

  private let limit: TimeAmount
  private var promise: EventLoopPromise<Void>?
  private var timer: Scheduled<Void>?
  /// Set in `handlerAdded`, which runs as the handler joins the pipeline.
  private(set) var handshakeDone: EventLoopFuture<Void>!

  init(limit: TimeAmount) {
    self.limit = limit
  }

  func handlerAdded(context: ChannelHandlerContext) {
    let promise = context.eventLoop.makePromise(of: Void.self)
    self.promise = promise
    handshakeDone = promise.futureResult
    let channel = context.channel
    timer = context.eventLoop.assumeIsolated().scheduleTask(in: limit) { [weak self] in
      guard let self else { return }
      self.fail(LeanHTTPClientError.tlsHandshakeTimeout)
      channel.close(promise: nil)
    }
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    fail(LeanHTTPClientError.connectionClosed)
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
      timer?.cancel(); timer = nil
      let promise = self.promise
      self.promise = nil
      context.fireUserInboundEventTriggered(event)
      // The client removes this handler once it has read `handshakeDone` (removing it
      // here raced with the client's lookup when the handshake finished first).
      promise?.succeed()
      return
    }
    context.fireUserInboundEventTriggered(event)
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    fail(error)
    context.fireErrorCaught(error)
  }

  func channelInactive(context: ChannelHandlerContext) {
    fail(LeanHTTPClientError.connectionClosed)
    context.fireChannelInactive()
  }

  private func fail(_ error: any Error) {
    timer?.cancel(); timer = nil
    let promise = self.promise
    self.promise = nil
    promise?.fail(error)
  }
}
