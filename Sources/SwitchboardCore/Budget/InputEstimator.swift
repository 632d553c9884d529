/// How input tokens are bounded before a call.
public enum InputEstimator: String, Sendable, Hashable, Codable, CaseIterable {
  /// A true upper bound: one token per UTF-8 byte sent (a BPE token is at least one
  /// byte) plus fixed per-message, per-tool and per-image overheads. A provider
  /// that honours `max_tokens` can never be charged more than this reserves.
  case exact
  /// About 3.5 bytes a token (``TokenEstimator``): tighter reservations, but a
  /// prompt of rare characters can cost more than reserved (an overage).
  case heuristic
}
