/// Where the wire events of one attempt go, from whichever HTTP client runs it:
/// the attempt's event queue, with the connect limit cleared on the event loop
/// the moment the request head is written or the response head arrives (clearing
/// it only when the async consumer reached the event let a busy consumer turn a
/// connection made in time into a `connect_failed`). The queue ends with the
/// first terminal event, which also stops the watchdog (nothing after it counts).
struct AttemptEventSink: Sendable {
  let events: AttemptEventQueue
  let watchdog: AttemptWatchdog

  func callAsFunction(_ event: AttemptEvent) {
    switch event {
    case .requestSent, .head:
      watchdog.set(.connect, nil)
      events.yield(event)
    case .body, .limit:
      events.yield(event)
    case .end, .failed:
      watchdog.stop()  // on the event loop the lean client armed it from: no wake-up
      events.yield(event)
      events.finish()
    }
  }
}
