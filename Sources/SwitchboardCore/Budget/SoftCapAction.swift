/// What to do when a reservation pushes a scope over its soft cap.
public enum SoftCapAction: String, Sendable, Hashable, Codable, CaseIterable {
  /// A `soft_budget_exceeded:` warning in the decision event and a metric.
  case warn
  /// Also re-rank the plan by worst-case cost (cheapest first) while over the soft cap.
  case cheapest
  /// Treat the soft cap as a hard one.
  case deny
}
