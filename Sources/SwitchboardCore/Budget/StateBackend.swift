/// Which store answered a request's budget reservations: the decision event and
/// the wire (`state_backend`) say it, so a refusal or an overshoot can be traced to
/// the fleet database or to a sidecar's own share.
public enum StateBackend: String, Sendable, Hashable, Codable, CaseIterable {
  /// The fleet's shared PostgreSQL ledger.
  case postgres
  /// This sidecar's own ledger (SQLite or in memory): no fleet configured.
  case local
  /// The shared ledger was unreachable and `shared_state.on_unavailable: local`
  /// let this sidecar spend from its bounded local share of each cap.
  case localFallback = "local_fallback"
}
