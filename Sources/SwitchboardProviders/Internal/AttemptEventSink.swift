/// Where the wire events of one attempt go, from whichever HTTP client runs it:
/// the attempt's event stream, with the connect limit cleared on the event loop
/// the moment the request head is written or the response head arrives (clearing
/// it only when the async consumer reached the event let a busy consumer turn a
/// connection made in time into a `connect_failed`). The stream ends with the
/// first terminal event, which also stops the watchdog (nothing after it counts).
struct AttemptEventSink: Sendable {
  let continuation: AsyncStream<AttemptEvent>.Continuation
  let watchdog: AttemptWatchdog

  func callAsFunction(_ event: AttemptEvent) {
    switch event {
    case .requestSent, .head:
      watchdog.set(.connect, nil)
      continuation.yield(event)
    case .body, .limit:
      continuation.yield(event)
    case .end, .failed:
      watchdog.stop()  // on the event loop the lean client armed it from: no wake-up
      continuation.yield(event)
      continuation.finish()
    }
  }
}
