import Foundation
import NIOHTTP1

/// Reads how long a provider asked us to wait.
enum RetryAfter {
  /// `retry-after-ms` (milliseconds), else `retry-after` (seconds or an HTTP date).
  /// The longest wait taken from a provider: a larger value (or a date further
  /// ahead) is clamped, so a lying or broken provider can neither crash the
  /// conversion nor bench a key for years.
  static let ceiling: Duration = .seconds(86_400)

  static func parse(_ headers: HTTPHeaders, now: Date = Date()) -> Duration? {
    let ceilingMs = Double(ceiling.components.seconds) * 1000
    func clamped(_ ms: Double) -> Duration { .milliseconds(Int64(min(max(0, ms), ceilingMs).rounded(.up))) }
    if let ms = headers.first(name: "retry-after-ms").flatMap({ Double($0.trimmingCharacters(in: .whitespaces)) }),
      ms.isFinite, ms >= 0
    {
      return clamped(ms)
    }
    guard let raw = headers.first(name: "retry-after")?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else {
      return nil
    }
    if let seconds = Double(raw), seconds.isFinite, seconds >= 0 {
      return clamped(seconds * 1000)
    }
    guard let date = parseHTTPDate(raw) else { return nil }
    return clamped(date.timeIntervalSince(now) * 1000)
  }

  private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

  /// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form RFC 9110 requires senders to use.
  static func parseHTTPDate(_ text: String) -> Date? {
    let parts = text.split(separator: " ")
    guard parts.count == 6, parts[5].uppercased() == "GMT",
      let day = Int(parts[1]), let month = months.firstIndex(of: parts[2].lowercased()), let year = Int(parts[3])
    else { return nil }
    let hms = parts[4].split(separator: ":").compactMap { Int($0) }
    guard hms.count == 3, (1...31).contains(day), (0...23).contains(hms[0]), (0...59).contains(hms[1]),
      (0...60).contains(hms[2])
    else { return nil }
    // Days from the civil date (Howard Hinnant's algorithm).
    let m = month + 1
    let y = m <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    let days = era * 146_097 + doe - 719_468
    let seconds = days * 86_400 + hms[0] * 3600 + hms[1] * 60 + hms[2]
    return Date(timeIntervalSince1970: TimeInterval(seconds))
  }
}
