/// What a connection's reader hands to its serving task.
enum InboundEvent: Sendable {
  /// A decoded frame.
  case frame(Switchboard_V1_Frame)
  /// The input broke a rule or a timer fired; the connection is being closed.
  case rejected(FrameError)
}
