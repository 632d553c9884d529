/// One tier: a name and the candidates that serve it, in the order to try.
public struct Tier: Sendable, Hashable {
  /// e.g. `fast`.
  public var name: String
  /// The tier's candidates.
  public var candidates: [CandidateSpec]
  /// What the tier is for, shown to the router model (optional).
  public var description: String
  /// Creates a tier.
  public init(name: String, candidates: [CandidateSpec], description: String = "") {
    self.name = name; self.candidates = candidates; self.description = description
  }
}

