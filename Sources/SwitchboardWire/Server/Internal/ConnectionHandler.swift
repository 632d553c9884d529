import NIOCore
import Synchronization

/// The connection's only channel handler. Inbound: splits frames itself (so it
/// knows when a partial frame is buffered), times out partial frames and idle
/// connections, and stops reading while the serving task is behind or too many
/// outbound bytes are queued. Outbound: counts queued bytes, flushes once per
/// event-loop tick instead of once per frame, and closes the connection when
/// queued bytes make no progress within the write timeout.
final class ConnectionHandler: ChannelDuplexHandler {
  typealias InboundIn = ByteBuffer
  typealias InboundOut = Never
  typealias OutboundIn = ByteBuffer
  typealias OutboundOut = ByteBuffer

  struct Settings: Sendable {
    var maxFrameBytes: Int
    var maxOutboundBytes: Int
    var writeTimeout: TimeAmount
    var idleTimeout: TimeAmount
    var frameReadTimeout: TimeAmount
    /// Frames buffered for the serving task before reading stops.
    var maxBufferedFrames = 256
  }

  private let settings: Settings
  private let events: AsyncStream<InboundEvent>.Continuation
  private let budget: InboundBudget
  private let counters: ConnectionCounters

  private var cumulation: ByteBuffer?
  private var reserved = 0
  private var readPending = false
  private var outboundBytes = 0
  private var flushScheduled = false
  private var failed = false
  private var quiescing = false
  /// How long a draining connection must be quiet before it closes.
  static let quietPeriod: TimeAmount = .milliseconds(50)
  private var lastActivity = NIODeadline.now()
  private var lastWriteProgress = NIODeadline.now()
  private var writeTimer: Scheduled<Void>?
  private var partialTimer: Scheduled<Void>?
  private var idleTimer: Scheduled<Void>?
  private var context: ChannelHandlerContext?

  init(settings: Settings, events: AsyncStream<InboundEvent>.Continuation, budget: InboundBudget, counters: ConnectionCounters) {
    self.settings = settings; self.events = events; self.budget = budget; self.counters = counters
  }

  // MARK: lifecycle

  func handlerAdded(context: ChannelHandlerContext) {
    self.context = context
    lastActivity = .now()
    armIdleTimer(context: context, at: lastActivity + settings.idleTimeout)
  }

  func handlerRemoved(context: ChannelHandlerContext) {
    tearDown()
    self.context = nil
  }

  func channelInactive(context: ChannelHandlerContext) {
    tearDown()
    context.fireChannelInactive()
  }

  func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
    if let e = event as? ChannelEvent, e == .inputClosed {
      // Half-closed by the client: no more calls, but the open ones still answer.
      events.finish()
    }
    context.fireUserInboundEventTriggered(event)
  }

  func errorCaught(context: ChannelHandlerContext, error: any Error) {
    context.close(promise: nil)
  }

  private func tearDown() {
    events.finish()
    writeTimer?.cancel(); writeTimer = nil
    partialTimer?.cancel(); partialTimer = nil
    idleTimer?.cancel(); idleTimer = nil
    budget.release(reserved)
    reserved = 0
    cumulation = nil
  }

  // MARK: inbound

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    guard !failed else { return }
    var bytes = unwrapInboundIn(data)
    lastActivity = .now()
    if cumulation == nil { cumulation = bytes } else { cumulation!.writeBuffer(&bytes) }
    decode(context: context)
  }

  private func decode(context: ChannelHandlerContext) {
    guard var buffer = cumulation else { return }
    cumulation = nil
    var completed = false
    while !failed {
      let payload: ByteBuffer?
      do { payload = try FrameDecoder.next(from: &buffer, maxFrameBytes: settings.maxFrameBytes) } catch let e as FrameError {
        reject(e, context: context); return
      } catch { reject(FrameError(.undecodable, "\(error)"), context: context); return }
      guard let payload else { break }
      completed = true
      do {
        let frame = try Switchboard_V1_Frame(payload: payload)
        counters.bufferedFrames.wrappingAdd(1, ordering: .relaxed)
        events.yield(.frame(frame))
      } catch let e as FrameError {
        reject(e, context: context); return
      } catch { reject(FrameError(.undecodable, "\(error)"), context: context); return }
    }
    if completed {
      budget.release(reserved); reserved = 0
      partialTimer?.cancel(); partialTimer = nil
    }
    guard buffer.readableBytes > 0 else { return }
    // A partial frame stays: reserve its whole size (header included) once.
    var need = FrameFormat.headerSize
    if buffer.readableBytes >= FrameFormat.headerSize,
      let length = buffer.getInteger(at: buffer.readerIndex + 1, endianness: .big, as: UInt32.self)
    {
      need += Int(length)
    }
    if need > reserved {
      guard budget.reserve(need - reserved) else {
        reject(FrameError(.busy, "the daemon is buffering too many partial frames; retry later"), context: context)
        return
      }
      reserved = need
      if buffer.capacity - buffer.readerIndex < need {
        buffer.discardReadBytes()
        buffer.reserveCapacity(need)
      }
    }
    cumulation = buffer
    if partialTimer == nil {
      let timeout = settings.frameReadTimeout
      partialTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
        guard let self, let context = self.context else { return }
        self.partialTimer = nil
        self.reject(FrameError(.readTimeout, "a frame did not arrive within \(timeout.nanoseconds / 1_000_000) ms"), context: context)
      }
    }
  }

  /// Ends input: the serving task gets the error (and answers `PROTOCOL_ERROR`).
  private func reject(_ error: FrameError, context: ChannelHandlerContext) {
    guard !failed else { return }
    failed = true
    cumulation = nil
    budget.release(reserved); reserved = 0
    partialTimer?.cancel(); partialTimer = nil
    events.yield(.rejected(error))
    events.finish()
  }

  func read(context: ChannelHandlerContext) {
    if readingPaused { readPending = true } else { context.read() }
  }

  private var readingPaused: Bool {
    failed || outboundBytes > settings.maxOutboundBytes
      || counters.bufferedFrames.load(ordering: .relaxed) >= settings.maxBufferedFrames
  }

  /// Called (on the event loop) when the serving task caught up.
  func resumeReadingIfPossible() {
    guard let context, readPending, !readingPaused else { return }
    readPending = false
    context.read()
  }

  // MARK: outbound

  func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
    let buffer = unwrapOutboundIn(data)
    let n = buffer.readableBytes
    outboundBytes += n
    let done = context.eventLoop.makePromise(of: Void.self)
    done.futureResult.assumeIsolated().whenComplete { [weak self] result in
      if let self {
        self.outboundBytes -= n
        if case .success = result { self.lastWriteProgress = .now(); self.lastActivity = self.lastWriteProgress }
        if self.outboundBytes == 0 { self.writeTimer?.cancel(); self.writeTimer = nil }
        self.resumeReadingIfPossible()
      }
      promise?.completeWith(result)
    }
    if outboundBytes == n { lastWriteProgress = .now() }  // the queue was empty: the clock starts now
    context.write(wrapOutboundOut(buffer), promise: done)
    if writeTimer == nil { armWriteTimer(context: context, at: lastWriteProgress + settings.writeTimeout) }
    if !flushScheduled {
      flushScheduled = true
      context.eventLoop.assumeIsolated().execute { [weak self] in
        guard let self, let context = self.context else { return }
        self.flushScheduled = false
        context.flush()
      }
    }
  }

  func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
    if event is ResumeReadingEvent {
      resumeReadingIfPossible()
      promise?.succeed(())
      return
    }
    if event is QuiesceEvent {
      quiescing = true
      lastActivity = .now()
      idleTimer?.cancel()
      armIdleTimer(context: context, at: lastActivity + Self.quietPeriod)
      promise?.succeed(())
      return
    }
    context.triggerUserOutboundEvent(event, promise: promise)
  }

  func flush(context: ChannelHandlerContext) {
    // Flushes are coalesced in `write`; an explicit one passes through.
    context.flush()
  }

  private func armWriteTimer(context: ChannelHandlerContext, at deadline: NIODeadline) {
    writeTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
      guard let self, let context = self.context else { return }
      self.writeTimer = nil
      guard self.outboundBytes > 0 else { return }
      let due = self.lastWriteProgress + self.settings.writeTimeout
      if NIODeadline.now() >= due {
        // The client does not read: fail what is queued and close.
        self.reject(FrameError(.writeTimeout, "the client did not read for \(self.settings.writeTimeout.nanoseconds / 1_000_000) ms"),
                    context: context)
        context.close(promise: nil)
      } else {
        self.armWriteTimer(context: context, at: due)
      }
    }
  }

  private func armIdleTimer(context: ChannelHandlerContext, at deadline: NIODeadline) {
    idleTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
      guard let self, let context = self.context else { return }
      self.idleTimer = nil
      let busy = self.counters.openCalls.load(ordering: .relaxed) > 0 || self.outboundBytes > 0 || self.cumulation != nil
        || (self.readPending && !self.failed) || self.counters.bufferedFrames.load(ordering: .relaxed) > 0
      let timeout = self.quiescing ? Self.quietPeriod : self.settings.idleTimeout
      let due = self.lastActivity + timeout
      if !busy && NIODeadline.now() >= due {
        if self.quiescing {
          self.events.finish()
        } else {
          self.reject(FrameError(.idleTimeout, "idle for \(timeout.nanoseconds / 1_000_000) ms"), context: context)
        }
        context.close(promise: nil)
      } else {
        self.armIdleTimer(context: context, at: busy ? NIODeadline.now() + timeout : due)
      }
    }
  }
}
