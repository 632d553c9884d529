import NIOCore
import Synchronization

/// A running call as the connection's table holds it.
struct CallHandle: Sendable {
  let call: ServerCall
  let task: CancellableTaskHandle
  /// Cancels the call: marks it at once, then cancels its task.
  func cancel() {
    call.markCancelled()
    task.cancel()
  }
}

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

  func admit(_ id: UInt64, kind: CallTable<CallHandle>.Kind) -> CallTable<CallHandle>.Admission {
    let a = table.withLock { $0.admit(id, kind: kind) }
    if case .admitted = a { counters.openCalls.wrappingAdd(1, ordering: .relaxed) }
    return a
  }

  enum Attach { case attached, cancelRequested, gone }

  func attach(_ id: UInt64, generation: UInt64, handle: CallHandle) -> Attach {
    table.withLock { t -> Attach in
      guard t.open[id]?.generation == generation else { return .gone }
      return t.attach(id, generation: generation, handle: handle) ? .cancelRequested : .attached
    }
  }

  /// Frees the id at the terminal frame; returns whether to close afterwards.
  func release(_ id: UInt64, generation: UInt64) -> Bool {
    let (action, removed) = table.withLock { t -> (CallTable<CallHandle>.ReleaseAction, Bool) in
      let was = t.open[id]?.generation == generation
      return (t.release(id, generation: generation), was)
    }
    if removed { counters.openCalls.wrappingSubtract(1, ordering: .relaxed) }
    return action == .close
  }

  func cancel(_ id: UInt64) { table.withLock { $0.cancel(id) }?.cancel() }

  func cancelAll() { for h in table.withLock({ $0.cancelAll() }) { h.cancel() } }

  /// Shutdown began: stop admitting; an idle connection closes at once.
  func drain() {
    if table.withLock({ $0.beginDrain() }) == .close { writer.closeAfterPendingWrites() }
  }

  /// The drain grace expired: every open call gets `Status{UNAVAILABLE, draining}`
  /// and is cancelled; the connection closes once those frames are written.
  func expire() {
    let open = table.withLock { $0.expireAll() }
    counters.openCalls.store(0, ordering: .relaxed)
    for entry in open {
      guard let h = entry.handle else { continue }  // not attached yet: `attach` sees `.gone` and ends it
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
