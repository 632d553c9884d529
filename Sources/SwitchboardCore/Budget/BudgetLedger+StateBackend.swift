extension BudgetLedger {
  /// A ledger of this process alone answers `.local`; the fleet ledger overrides it.
  public var stateBackend: StateBackend { .local }
}
