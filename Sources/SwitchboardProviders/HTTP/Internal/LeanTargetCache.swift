import Synchronization

/// The last URL an adapter parsed into a `LeanHTTPTarget`, and the result: a
/// provider's requests go to one URL (per wire operation), so parsing it once per
/// request showed in the profile (1.5% of the daemon's CPU per request).
final class LeanTargetCache: Sendable {
  private let last = Mutex<(url: String, target: LeanHTTPTarget?)?>(nil)

  init() {}

  /// `LeanHTTPTarget(url)`, from the cache when `url` is the one parsed last.
  func target(_ url: String) -> LeanHTTPTarget? {
    if let hit = last.withLock({ $0?.url == url ? $0 : nil }) { return hit.target }
    let parsed = LeanHTTPTarget(url)
    last.withLock { $0 = (url, parsed) }
    return parsed
  }
}
