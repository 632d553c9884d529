import NIOCore
import NIOSSL
import NIOTLS

/// Counts the fake's completed TLS handshakes (a kept-alive connection is one
/// handshake for many requests), then passes everything on.
final class FakeHandshakeCounter: ChannelInboundHandler, RemovableChannelHandler {
  typealias InboundIn = NIOAny

  private let provider: FakeProvider

  init(provider: FakeProvider) {
    self.provider = provider
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls { provider.handshakeCompleted() }
    context.fireUserInboundEventTriggered(event)
  }
}
