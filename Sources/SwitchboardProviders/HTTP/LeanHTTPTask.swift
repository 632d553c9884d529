import NIOCore
import NIOHTTP1
import Synchronization

/// One request of `LeanHTTPClient` in flight. Its events reach the sink in wire
/// order and end with exactly one `.end` or `.failed`; `cancel()` ends it early and
/// closes its connection if the request is on one (a connection with an unread
/// response is never reused).
public final class LeanHTTPTask: Sendable {
  /// Where a request stands before it is written, as reported to `onPhase`.
  public enum Phase: Sendable {
    /// About to be written on an open connection (on its event loop).
    case writing
    /// Queued: every connection the pool may open to the host is busy. The wait is
    /// the daemon's own, not the provider's: no connect limit runs during it.
    case waiting
    /// A connection is being opened for it: the connect limit starts now.
    case connecting
  }

  private enum State {
    /// Not placed yet, or a connection is being opened for it.
    case pending
    /// In the pool's queue for a connection to come free.
    case waiting
    /// Written to (or being written to) this connection.
    case running(LeanHTTPConnection)
    /// Ended (answered, failed or cancelled).
    case done
  }

  let id: UInt64
  let target: LeanHTTPTarget
  let head: HTTPRequestHead
  let body: ByteBuffer
  private let onEvent: @Sendable (AttemptEvent) -> Void
  private let onPhase: (@Sendable (Phase) -> Void)?
  private let dispatchedOnce = Atomic<Bool>(false)
  private let state = Mutex(State.pending)
  private let client: LeanHTTPClient

  init(id: UInt64, target: LeanHTTPTarget, head: HTTPRequestHead, body: ByteBuffer, client: LeanHTTPClient,
       onPhase: (@Sendable (Phase) -> Void)? = nil, onEvent: @escaping @Sendable (AttemptEvent) -> Void) {
    self.id = id; self.target = target; self.head = head; self.body = body; self.client = client
    self.onPhase = onPhase; self.onEvent = onEvent
  }

  /// Reports `.writing` unless a phase was reported before: the request is about
  /// to be written on an open connection (on its event loop). A request that
  /// waited or had a connection opened for it already runs under its limits.
  func dispatched() {
    guard let onPhase, !dispatchedOnce.exchange(true, ordering: .acquiringAndReleasing) else { return }
    onPhase(.writing)
  }

  /// The pool queued the request (under the pool's lock, so it is marked before
  /// anything can take it out of the queue).
  func markWaiting() {
    state.withLock { s in if case .pending = s { s = .waiting } }
  }

  /// The pool queued the request (`.waiting`, after `markWaiting()`) or opens a
  /// connection for it (`.connecting`).
  func entered(_ phase: Phase) {
    if case .connecting = phase {
      state.withLock { s in if case .waiting = s { s = .pending } }
    }
    dispatchedOnce.store(true, ordering: .releasing)
    onPhase?(phase)
  }

  /// Whether the request has ended.
  public var isDone: Bool { state.withLock { if case .done = $0 { true } else { false } } }

  /// Whether the request waits in the pool's queue (nothing of it left the daemon yet).
  public var isWaiting: Bool { state.withLock { if case .waiting = $0 { true } else { false } } }

  /// Ends the request now: a waiting request leaves the queue, a running one's
  /// connection is closed. No-op once the response has ended.
  public func cancel() {
    enum Action { case none, dequeue, close(LeanHTTPConnection) }
    let action: Action = state.withLock { s in
      switch s {
      case .pending, .waiting: s = .done; return .dequeue
      case .running(let connection): s = .done; return .close(connection)
      case .done: return .none
      }
    }
    switch action {
    case .none: return
    case .dequeue: client.dequeue(self)
    case .close(let connection): connection.close()
    }
    onEvent(.failed(LeanHTTPClientError.cancelled))
  }

  /// Claims the task for `connection`; false if it already ended (cancelled).
  func begin(on connection: LeanHTTPConnection) -> Bool {
    state.withLock { s in
      switch s {
      case .pending, .waiting: break
      case .running, .done: return false
      }
      s = .running(connection)
      return true
    }
  }

  /// A non-terminal wire event (request sent, head, body part).
  func emit(_ event: AttemptEvent) {
    onEvent(event)
  }

  /// The terminal event; dropped if the task already ended.
  func finish(_ event: AttemptEvent) {
    let first: Bool = state.withLock { s in
      if case .done = s { return false }
      s = .done
      return true
    }
    if first { onEvent(event) }
  }
}
