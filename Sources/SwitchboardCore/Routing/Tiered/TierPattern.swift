/// A compiled regular expression of a tier rule (Swift `Regex` syntax; `(?i)`
/// for case-insensitive). Compiled once when the config is loaded.
public final class TierPattern: @unchecked Sendable {
  // @unchecked: the compiled `Regex` is immutable after init and matching does
  // not mutate it; the standard library's lazily built program is thread-safe.
  private let regex: Regex<AnyRegexOutput>

  /// Compiles `pattern`; nil when it is not a valid regular expression.
  public init?(_ pattern: String) {
    guard let r = try? Regex(pattern) else { return nil }
    regex = r
  }

  /// Whether the expression matches somewhere in `text`.
  public func matches(_ text: String) -> Bool {
    (try? regex.firstMatch(in: text)) != nil
  }
}
