/// The outcome of a reservation request.
public enum ReservationResult: Sendable {
  /// Reserved; `softExceeded` lists scope keys now over their soft cap.
  case reserved(BudgetReservation, softExceeded: [String])
  /// Refused: the scope (`key@window`) whose cap it would cross, and what remains there.
  case denied(scope: String, remaining: MicroUSD)
  /// The ledger cannot record the reservation (its store failed): fail closed.
  case unavailable(String)

  /// The fleet's shared ledger is unreachable and `on_unavailable: fail_closed`:
  /// the request is refused with reason `shared_state_unavailable`.
  public static var sharedStateUnavailable: ReservationResult { .unavailable(ReasonCode.sharedStateUnavailable.rawValue) }
}
