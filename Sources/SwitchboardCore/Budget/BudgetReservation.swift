/// A reservation held by one attempt until it settles or is released.
public struct BudgetReservation: Sendable, Hashable {
  /// Unique within the ledger.
  public var id: UInt64
  /// The worst case reserved in every scope.
  public var amount: MicroUSD
  /// The scopes it was reserved in (with the caps in force at reserve time).
  public var scopes: [BudgetScope]
  /// The request it belongs to.
  public var requestID: String
  /// The store that holds it (the fleet ledger routes settle and release by it); nil: the ledger's only store.
  public var backend: StateBackend? = nil
  /// Creates a reservation (ledgers do this).
  public init(id: UInt64, amount: MicroUSD, scopes: [BudgetScope], requestID: String) {
    self.id = id; self.amount = amount; self.scopes = scopes; self.requestID = requestID
  }
}
