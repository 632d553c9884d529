import SwitchboardCore
import SwitchboardWire

/// Which decisions a caller may read over the socket: an admin sees all; any
/// other caller only its own.
///
/// "Its own" is decided by this one function. Today it is the event's peer uid
/// (the uid that made the request); once tenants are mapped from peer credentials
/// this is the one place to compare tenants instead.
struct DecisionVisibility: Sendable, Hashable {
  /// nil: every decision (an admin).
  let ownerUID: UInt32?

  /// Everything.
  static let all = DecisionVisibility(ownerUID: nil)

  /// The visibility of a caller.
  static func of(_ peer: PeerCredentials?, isAdmin: Bool) -> DecisionVisibility {
    if isAdmin { return .all }
    // A peer without credentials is never an admin, and owns nothing.
    return DecisionVisibility(ownerUID: peer?.uid ?? UInt32.max)
  }

  /// Whether the caller may see `event`.
  func allows(_ event: DecisionEvent) -> Bool {
    guard let ownerUID else { return true }
    return event.peerUID == ownerUID
  }
}
