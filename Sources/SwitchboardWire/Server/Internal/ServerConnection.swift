import NIOCore
import Synchronization

/// One accepted connection: its channel, peer, writer, inbound frames and call table.
final class ServerConnection: Sendable {
  let channel: any Channel
  let peer: PeerCredentials?
  let writer: ConnectionWriter
  let inbound: AsyncStream<InboundEvent>
  let counters: ConnectionCounters
  let maxBufferedFrames: Int
  private let table: Mutex<CallTable<CallHandle>>

  init(channel: any Channel, peer: PeerCredentials?, inbound: AsyncStream<InboundEvent>, counters: ConnectionCounters,
       limits: CallTable<CallHandle>.Limits, maxBufferedFrames: Int) {
    self.channel = channel; self.peer = peer; self.writer = ConnectionWriter(channel: channel)
    self.inbound = inbound; self.counters = counters; self.maxBufferedFrames = maxBufferedFrames
    self.table = Mutex(CallTable(limits: limits))
  }

  /// The serving task took one frame; reading resumes once it has caught up.
  func consumed() {
    let now = counters.bufferedFrames.wrappingSubtract(1, ordering: .relaxed).newValue
    if now == maxBufferedFrames - 1 { channel.triggerUserOutboundEvent(ResumeReadingEvent(), promise: nil) }
  }

  func setLimits(_ limits: CallTable<CallHandle>.Limits) { table.withLock { $0.limits = limits } }

  /// Admits call `id` and registers its handle (made by `make` from the call's
  /// generation) under the same lock, so a drain expiring the connection never
  /// sees an admitted call without a handle.
  func admit(_ id: UInt64, kind: CallTable<CallHandle>.Kind,
             make: (UInt64) -> CallHandle) -> (CallTable<CallHandle>.Admission, CallHandle?) {
    let (a, h) = table.withLock { t -> (CallTable<CallHandle>.Admission, CallHandle?) in
      let a = t.admit(id, kind: kind)
      guard case .admitted(let g) = a else { return (a, nil) }
      let h = make(g)
      _ = t.attach(id, generation: g, handle: h)  // a fresh entry: no cancel can have come first
      return (a, h)
    }
    if h != nil { counters.openCalls.wrappingAdd(1, ordering: .relaxed) }
    return (a, h)
  }

  /// Frees the id when the call's terminal frame is queued (a draining connection
  /// does not close here but from its handler once quiet, so frames the client
  /// sent before the drain are still read and answered). Returns what to run once
  /// the frame is written: only then does the call stop counting as open.
  func release(_ id: UInt64, generation: UInt64) -> @Sendable () -> Void {
    let removed = table.withLock { t -> Bool in
      let was = t.open[id]?.generation == generation
      _ = t.release(id, generation: generation)
      return was
    }
    let counters = self.counters
    return { if removed { counters.openCalls.wrappingSubtract(1, ordering: .relaxed) } }
  }

  func cancel(_ id: UInt64) { table.withLock { $0.cancel(id) }?.cancel() }

  func cancelAll() { for h in table.withLock({ $0.cancelAll() }) { h.cancel() } }

  /// Shutdown began: stop admitting (new calls get `UNAVAILABLE draining`); the
  /// connection closes once its calls are done and it has been quiet briefly.
  func drain() {
    _ = table.withLock { $0.beginDrain() }
    channel.triggerUserOutboundEvent(QuiesceEvent(), promise: nil)
  }

  /// The drain grace expired: every open call gets `Status{UNAVAILABLE, draining}`
  /// and is cancelled; the connection closes once those frames are written.
  func expire() {
    // `openCalls` keeps counting the expired calls: this connection closes after
    // their statuses are written, not when its handler finds it quiet.
    let open = table.withLock { $0.expireAll() }
    for entry in open {
      guard let h = entry.handle else { continue }  // always attached (see `admit`)
      _ = h.call.finishNow(.status(Self.drainingStatus))
      h.cancel()
    }
    writer.closeAfterPendingWrites()
  }

  static var drainingStatus: Switchboard_V1_Status {
    var s = Switchboard_V1_Status()
    s.code = .unavailable; s.reasonCode = "draining"; s.retryable = true
    s.message = "the daemon is shutting down and the drain grace expired"
    return s
  }

  func close() { channel.close(promise: nil) }
}
