/// The outcome of a reservation request.
public enum ReservationResult: Sendable {
  /// Reserved; `softExceeded` lists scope keys now over their soft cap.
  case reserved(BudgetReservation, softExceeded: [String])
  /// Refused: the scope (`key@window`) whose cap it would cross, and what remains there.
  case denied(scope: String, remaining: MicroUSD)
  /// The ledger cannot record the reservation (its store failed): fail closed.
  case unavailable(String)
}
