/// One budget a request draws on: a scope key and a window.
public struct BudgetScope: Hashable, Sendable {
  /// e.g. `tenant:acme`, `route:payments`, `route:payments/tenant:acme`, `daemon`.
  public var key: String
  /// The window the limit counts in.
  public var window: BudgetWindow
  /// The caps.
  public var limit: BudgetLimit
  /// Creates a scope.
  public init(key: String, window: BudgetWindow = .daily, limit: BudgetLimit) {
    self.key = key; self.window = window; self.limit = limit
  }
  /// `key@window`, the account the ledger keeps (e.g. `route:chat@daily`).
  public var account: String { "\(key)@\(window.rawValue)" }
}
