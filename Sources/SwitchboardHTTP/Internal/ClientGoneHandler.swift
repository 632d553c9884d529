import NIOCore
import Synchronization

/// Notices that the client is gone (its side closed, or the connection dropped)
/// while a request is in flight. Hummingbird lets peers half-close and does not
/// read the connection while a handler runs, so `Channel.isActive` alone cannot
/// tell; this handler sits in the pipeline and records the events.
final class ClientGoneHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
  typealias InboundIn = NIOAny

  /// Shared with the request's watcher.
  final class State: Sendable {
    let gone = Atomic<Bool>(false)
  }
  let state = State()

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if case .inputClosed? = event as? ChannelEvent { state.gone.store(true, ordering: .relaxed) }
    context.fireUserInboundEventTriggered(event)
  }

  func channelInactive(context: ChannelHandlerContext) {
    state.gone.store(true, ordering: .relaxed)
    context.fireChannelInactive()
  }

  /// The state of `channel`'s handler, or nil when there is none.
  static func state(of channel: any Channel) async -> State? {
    try? await channel.eventLoop.submit {
      try channel.pipeline.syncOperations.handler(type: ClientGoneHandler.self).state
    }.get()
  }
}
