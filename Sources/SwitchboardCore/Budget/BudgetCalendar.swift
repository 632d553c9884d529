import Foundation

/// Calendar periods of the budget windows in one time zone: which day and month a
/// wall-clock time falls in, and when that period ends. Pure; used by every ledger.
public struct BudgetCalendar: Sendable, Hashable {
  /// The time zone identifier (e.g. `UTC`, `Europe/Berlin`).
  public let timeZoneID: String
  private let calendar: Calendar

  /// Creates a calendar in `timeZone`; nil when the identifier is unknown.
  public init?(timeZone id: String) {
    guard let tz = TimeZone(identifier: id) else { return nil }
    var c = Calendar(identifier: .gregorian)
    c.timeZone = tz
    self.calendar = c
    self.timeZoneID = id
  }

  /// UTC.
  public static let utc = BudgetCalendar(timeZone: "UTC")!

  public static func == (a: BudgetCalendar, b: BudgetCalendar) -> Bool { a.timeZoneID == b.timeZoneID }
  public func hash(into h: inout Hasher) { h.combine(timeZoneID) }

  /// The period of `window` containing `wallMillis`: a label (`2026-12-01`,
  /// `2026-12`) and its end in wall milliseconds.
  public func period(_ window: BudgetWindow, wallMillis: Int64) -> BudgetPeriod {
    let date = Date(timeIntervalSince1970: Double(wallMillis) / 1000)
    let comps = calendar.dateComponents([.year, .month, .day], from: date)
    let y = comps.year ?? 1970, m = comps.month ?? 1, d = comps.day ?? 1
    func pad(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    switch window {
    case .daily:
      let start = calendar.startOfDay(for: date)
      let end = calendar.date(byAdding: .day, value: 1, to: start) ?? start.addingTimeInterval(86_400)
      return BudgetPeriod(label: "\(y)-\(pad(m))-\(pad(d))", endMillis: Int64(end.timeIntervalSince1970 * 1000))
    case .monthly:
      let start = calendar.date(from: DateComponents(year: y, month: m, day: 1)) ?? date
      let end = calendar.date(byAdding: .month, value: 1, to: start) ?? start.addingTimeInterval(31 * 86_400)
      return BudgetPeriod(label: "\(y)-\(pad(m))", endMillis: Int64(end.timeIntervalSince1970 * 1000))
    }
  }
}
