import Synchronization

/// Counters a connection's handler (on the event loop) shares with its tasks.
final class ConnectionCounters: Sendable {
  /// Frames handed to the serving task and not yet taken.
  let bufferedFrames = Atomic<Int>(0)
  /// Calls open (the idle timer does not fire while any is).
  let openCalls = Atomic<Int>(0)
}
