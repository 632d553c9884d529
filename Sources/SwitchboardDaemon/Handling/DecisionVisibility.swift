import SwitchboardAudit
import SwitchboardCore
import SwitchboardWire

/// Which decisions a caller may read over the socket: an admin sees all; any
/// other caller only its own tenant's (the tenant its peer credentials map to,
/// the same one its requests are charged to).
struct DecisionVisibility: Sendable, Hashable {
  /// nil: every decision (an admin).
  let ownerTenant: String?

  /// Everything.
  static let all = DecisionVisibility(ownerTenant: nil)

  /// The visibility of a caller.
  static func of(_ caller: CallerIdentity, isAdmin: Bool, router: Router) -> DecisionVisibility {
    isAdmin ? .all : DecisionVisibility(ownerTenant: router.tenant(of: caller))
  }

  /// Whether the caller may see `event`.
  func allows(_ event: DecisionEvent) -> Bool {
    guard let ownerTenant else { return true }
    return event.tenant == ownerTenant
  }

  /// `filter` narrowed to what the caller may see (nil: it can see nothing of it).
  func narrow(_ filter: DecisionFilter) -> DecisionFilter? {
    guard let ownerTenant else { return filter }
    if let t = filter.tenant, t != ownerTenant { return nil }
    var f = filter
    f.tenant = ownerTenant
    return f
  }
}
