import Synchronization
import SwitchboardCore

/// The in-memory audit store (`audit.path: ""`): a ring of the most recent
/// decisions bounded by a byte budget.
///
/// Each decision is kept as its `DecisionEvent` value, boxed; its JSON (what the
/// SQLite store would hold in `event_json`) is written only when a query reads it,
/// so recording a decision costs no encoding on the request's task. Queries filter
/// on the event's own fields. Its cost is accounted by ``accountedBytes(_:)``: the
/// event's inline layout plus every heap block it owns (arrays by capacity,
/// strings too long to be stored inline, the tags' dictionary), each rounded up to
/// the allocator's granularity with its header, plus ``entryOverhead`` (array
/// slot, index entry); strings shared with the configuration (provider, model,
/// route names) are counted as if each event owned a copy, so the estimate errs
/// high. When a new decision would take the total past the budget, the oldest
/// decisions are evicted first. Memory therefore stops growing once the ring is
/// full, however many requests follow.
///
/// Spend is not kept here: it lives in the budget ledger's own store. A pure
/// value: ``AuditStore`` keeps it behind a `Mutex`, tests drive it directly.
struct AuditMemoryRing {
  /// The ring behind a lock, as the store holds it.
  final class Locked: Sendable {
    let state: Mutex<AuditMemoryRing>
    init(_ ring: AuditMemoryRing) { state = Mutex(ring) }
  }

  /// One decision, boxed so a ring slot stays a few words whatever the event's size.
  final class Stored: Sendable {
    let event: DecisionEvent
    init(_ event: DecisionEvent) { self.event = event }
  }

  /// Accounted bytes per decision on top of the event itself (its slot in the
  /// ring's array, which can be up to 4× the live count with dead slots not yet
  /// compacted and the array's spare capacity, and its index entry).
  static let entryOverhead = 256

  struct Entry {
    var sequence: UInt64
    var timestampMs: Int64
    /// Nil once evicted, pruned or replaced by a decision with the same request id.
    var stored: Stored?
    var bytes: Int
    var live: Bool { stored != nil }
  }

  /// What the ring holds at most, in accounted bytes.
  let budgetBytes: Int
  private var entries: [Entry] = []
  /// Index in `entries` of the oldest entry not yet dropped.
  private var head = 0
  private var nextSequence: UInt64 = 1
  private var index: [String: UInt64] = [:]

  /// Accounted bytes of the live decisions (and of dead slots not yet dropped).
  private(set) var usedBytes = 0
  /// Live decisions.
  private(set) var count = 0
  /// Decisions recorded since the ring was created.
  private(set) var recorded: UInt64 = 0
  /// Decisions evicted to stay within the budget.
  private(set) var evicted: UInt64 = 0
  /// Decisions refused because their request id was already recorded.
  private(set) var refused: UInt64 = 0

  init(budgetBytes: Int) {
    self.budgetBytes = max(budgetBytes, 64 * 1024)
  }

  /// The accounted size of a stored decision: its box and every heap block the
  /// event owns, plus ``entryOverhead``. See ``EventFootprint``.
  static func accountedBytes(_ event: DecisionEvent) -> Int {
    entryOverhead + EventFootprint.block(MemoryLayout<DecisionEvent>.size + 16) + EventFootprint.bytes(of: event)
  }

  /// Records a decision. A request id seen before is refused, like the SQLite
  /// store's primary key: the first decision stays.
  mutating func record(_ event: DecisionEvent) {
    record(Stored(event), bytes: Self.accountedBytes(event))
  }

  /// Records a boxed decision whose ``accountedBytes(_:)`` the caller computed
  /// (``AuditStore`` does both outside the lock).
  mutating func record(_ stored: Stored, bytes: Int) {
    let event = stored.event
    if let old = index[event.requestID], let i = position(of: old), entries[i].live { refused += 1; return }
    recorded += 1
    while usedBytes + bytes > budgetBytes, head < entries.count {
      if entries[head].live { evicted += 1 }
      dropOldest()
    }
    let seq = nextSequence
    nextSequence += 1
    entries.append(Entry(sequence: seq, timestampMs: event.timestampMs, stored: stored, bytes: bytes))
    index[event.requestID] = seq
    usedBytes += bytes
    count += 1
  }

  /// The decision with `requestID`.
  func event(requestID: String) -> DecisionEvent? {
    guard let seq = index[requestID], let i = position(of: seq) else { return nil }
    return entries[i].stored?.event
  }

  /// The decisions matching `filter`, in its order and limit (ties in time keep
  /// recording order, like the SQLite store's rowid).
  func events(matching f: DecisionFilter) -> [DecisionEvent] {
    var matches: [Int] = []
    for i in head..<entries.count {
      if let s = entries[i].stored, Self.matches(s.event, f) { matches.append(i) }
    }
    // Recording order is nearly time order; a stable sort by time settles the rest.
    let ordered = matches.enumerated().sorted { a, b in
      let ta = entries[a.element].timestampMs, tb = entries[b.element].timestampMs
      return ta != tb ? ta < tb : a.offset < b.offset
    }.map(\.element)
    let sequence = f.order == .newestFirst ? Array(ordered.reversed()) : ordered
    let limited = f.limit.map { Array(sequence.prefix(max(0, $0))) } ?? sequence
    return limited.compactMap { entries[$0].stored?.event }
  }

  /// The stored JSON of the decision with `requestID` (encoded now).
  func json(requestID: String) -> String? { event(requestID: requestID).map(DecisionEventJSON.encode) }

  /// The stored JSON of the decisions matching `filter` (encoded now).
  func json(matching f: DecisionFilter) -> [String] { events(matching: f).map(DecisionEventJSON.encode) }

  static func matches(_ e: DecisionEvent, _ f: DecisionFilter) -> Bool {
    if let v = f.sinceMs, e.timestampMs < v { return false }
    if let v = f.untilMs, e.timestampMs >= v { return false }
    if let v = f.route, e.route != v { return false }
    if let v = f.tenant, e.tenant != v { return false }
    if let v = f.correlationID, e.correlationID != v { return false }
    if let v = f.outcome, e.outcome != v { return false }
    // The provider that served, or any provider attempted (skipped ones included).
    if let v = f.provider, e.chosenProvider != v, !e.attempts.contains(where: { $0.provider == v }) { return false }
    if !f.tags.isEmpty {
      let tags = e.tags ?? [:]
      for (k, v) in f.tags where tags[k] != v { return false }
    }
    return true
  }

  /// Retention, with the SQLite store's meaning: decisions older than
  /// `maxAgeDays` before `now`, then the oldest beyond `maxRows`.
  mutating func prune(now wallMillis: Int64, maxAgeDays: Int?, maxRows: Int?) -> PruneResult {
    var result = PruneResult(decisionsByAge: 0, decisionsByCount: 0, ledgerRows: 0)
    if let maxAgeDays {
      let cutoff = wallMillis - Int64(max(0, maxAgeDays)) * 86_400_000
      for i in head..<entries.count where entries[i].live && entries[i].timestampMs < cutoff {
        kill(at: i)
        result.decisionsByAge += 1
      }
    }
    if let maxRows {
      var excess = count - max(0, maxRows)
      // Oldest by time, like the SQLite store's ORDER BY ts_ms, rowid.
      let oldest = (head..<entries.count).filter { entries[$0].live }
        .sorted { entries[$0].timestampMs != entries[$1].timestampMs
          ? entries[$0].timestampMs < entries[$1].timestampMs : $0 < $1 }
      var k = 0
      while excess > 0, k < oldest.count {
        kill(at: oldest[k])
        result.decisionsByCount += 1
        excess -= 1
        k += 1
      }
    }
    while head < entries.count, !entries[head].live { dropOldest() }
    return result
  }

  // MARK: internals

  private func position(of sequence: UInt64) -> Int? {
    guard let first = entries.first, sequence >= first.sequence else { return nil }
    let i = Int(sequence - first.sequence)
    return i >= head && i < entries.count ? i : nil
  }

  /// Marks an entry dead and releases its event; the slot's overhead stays
  /// accounted until the slot is dropped from the front.
  private mutating func kill(at i: Int) {
    guard let stored = entries[i].stored else { return }
    if index[stored.event.requestID] == entries[i].sequence { index[stored.event.requestID] = nil }
    entries[i].stored = nil
    usedBytes -= entries[i].bytes - Self.entryOverhead
    entries[i].bytes = Self.entryOverhead
    count -= 1
  }

  private mutating func dropOldest() {
    kill(at: head)
    usedBytes -= entries[head].bytes
    entries[head].bytes = 0
    head += 1
    // Compact once the dropped prefix is at least half of the array.
    if head >= 1024, head * 2 >= entries.count {
      entries.removeFirst(head)
      head = 0
    }
  }
}
