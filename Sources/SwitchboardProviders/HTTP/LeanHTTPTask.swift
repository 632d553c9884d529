import NIOCore
import NIOHTTP1
import Synchronization

/// One request of `LeanHTTPClient` in flight. Its events reach the sink in wire
/// order and end with exactly one `.end` or `.failed`; `cancel()` ends it early and
/// closes its connection if the request is on one (a connection with an unread
/// response is never reused).
public final class LeanHTTPTask: Sendable {
  private enum State {
    /// Waiting for a connection (queued, or one is being opened for it).
    case pending
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
  private let onDispatch: (@Sendable () -> Void)?
  private let dispatchedOnce = Atomic<Bool>(false)
  private let state = Mutex(State.pending)
  private let client: LeanHTTPClient

  init(id: UInt64, target: LeanHTTPTarget, head: HTTPRequestHead, body: ByteBuffer, client: LeanHTTPClient,
       onDispatch: (@Sendable () -> Void)? = nil, onEvent: @escaping @Sendable (AttemptEvent) -> Void) {
    self.id = id; self.target = target; self.head = head; self.body = body; self.client = client
    self.onDispatch = onDispatch; self.onEvent = onEvent
  }

  /// Runs `onDispatch` once: when the request is about to be written on an idle
  /// connection (on its event loop), or when it has to wait or connect (at once).
  func dispatched() {
    guard let onDispatch, !dispatchedOnce.exchange(true, ordering: .acquiringAndReleasing) else { return }
    onDispatch()
  }

  /// Whether the request has ended.
  public var isDone: Bool { state.withLock { if case .done = $0 { true } else { false } } }

  /// Ends the request now: a waiting request leaves the queue, a running one's
  /// connection is closed. No-op once the response has ended.
  public func cancel() {
    enum Action { case none, dequeue, close(LeanHTTPConnection) }
    let action: Action = state.withLock { s in
      switch s {
      case .pending: s = .done; return .dequeue
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
      guard case .pending = s else { return false }
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
