/// The seam through which a ``HealthBoard`` shares its circuits with a fleet
/// (implemented on PostgreSQL by `SwitchboardFleet`). The core does no I/O: the
/// board hands state changes to ``publish(_:_:)`` (which must not block: the store
/// queues them), asks for the fleet-wide half-open probe lease with
/// ``acquireProbe(_:wallMillis:)`` (bounded by the store's timeout), and the store
/// pushes the fleet's circuits back with ``HealthBoard/adopt(_:now:wallMillis:)``.
/// A store that cannot reach its database answers ``ProbeLease/local``: the
/// board then decides on its own circuits, as without a store.
public protocol SharedHealthStore: Sendable {
  /// Queues one change of a circuit for the fleet; never blocks.
  func publish(_ key: CircuitKey, _ change: SharedCircuitChange)
  /// Takes the fleet's single probe lease of `key` if the fleet's circuit lets a
  /// probe go at `wallMillis`.
  func acquireProbe(_ key: CircuitKey, wallMillis: Int64) async -> ProbeLease
}

/// The answer to a probe-lease request.
public enum ProbeLease: Sendable, Hashable {
  /// This sidecar holds the fleet's probe lease: send the probe.
  case granted
  /// The fleet's circuit is open, or another sidecar holds the probe, until `untilWallMs`.
  case refused(untilWallMs: Int64)
  /// No fleet answer (the store is unreachable, or the fleet knows no opening):
  /// the local circuit decides.
  case local
}

/// One state change of a circuit, in wall-clock milliseconds (the fleet's common time).
public enum SharedCircuitChange: Sendable, Hashable {
  /// The circuit opened (or re-opened after a failed probe) until `untilWallMs`,
  /// the `openings`-th opening in a row; releases this sidecar's probe lease.
  case opened(untilWallMs: Int64, cooldownMs: Int64, openings: Int, notBeforeWallMs: Int64?, atWallMs: Int64)
  /// This sidecar's probe succeeded: the circuit closed and its back-off reset.
  case closed(atWallMs: Int64)
  /// This sidecar gave its probe lease back without a verdict.
  case probeReleased(atWallMs: Int64)
  /// A Retry-After set a not-before time (the circuit may stay closed).
  case notBefore(wallMs: Int64, atWallMs: Int64)
}

/// The fleet's view of one circuit, as read from the shared store.
public struct SharedCircuit: Sendable, Hashable {
  /// Open (including half-open with or without a probe out).
  public var isOpen: Bool
  /// End of the open window (wall ms).
  public var openUntilWallMs: Int64
  /// The current opening's cooldown.
  public var cooldownMs: Int64
  /// Openings in a row (the back-off exponent).
  public var openings: Int
  /// No request before this (a Retry-After), wall ms.
  public var notBeforeWallMs: Int64?
  /// Until when another sidecar holds the probe lease (nil: nobody else does).
  public var probeHeldElsewhereUntilWallMs: Int64?
  /// When it last changed (wall ms).
  public var updatedWallMs: Int64

  /// Creates a view.
  public init(isOpen: Bool, openUntilWallMs: Int64, cooldownMs: Int64, openings: Int, notBeforeWallMs: Int64?,
              probeHeldElsewhereUntilWallMs: Int64?, updatedWallMs: Int64) {
    self.isOpen = isOpen; self.openUntilWallMs = openUntilWallMs; self.cooldownMs = cooldownMs; self.openings = openings
    self.notBeforeWallMs = notBeforeWallMs; self.probeHeldElsewhereUntilWallMs = probeHeldElsewhereUntilWallMs
    self.updatedWallMs = updatedWallMs
  }
}
