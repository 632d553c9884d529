import Hummingbird
import NIOCore

/// Hummingbird's per-request context, plus the connection (peer address,
/// peer credentials on the Unix socket, close notification).
struct HTTPRequestContext: Hummingbird.RequestContext {
  var coreContext: CoreRequestContextStorage
  /// The connection the request came on.
  let channel: any Channel

  init(source: ApplicationRequestContextSource) {
    coreContext = .init(source: source)
    channel = source.channel
  }
}
