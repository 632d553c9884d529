/// What a settle did.
public struct SettleResult: Sendable, Hashable {
  /// The amount charged to every scope of the reservation.
  public var charged: MicroUSD
  /// How far the charge went over the reservation (zero when it fit).
  public var overage: MicroUSD
  /// Scopes (`key@window`) that are now over their hard cap because of this charge.
  public var overCap: [String]
  /// Creates a result.
  public init(charged: MicroUSD, overage: MicroUSD, overCap: [String]) {
    self.charged = charged; self.overage = overage; self.overCap = overCap
  }
}
