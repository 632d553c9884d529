import Synchronization
import SwitchboardCore

/// The in-memory audit store (`audit.path: ""`): a ring of the most recent
/// decisions bounded by a byte budget.
///
/// Each decision is kept as its stored JSON (what the SQLite store would hold in
/// `event_json`) with the few columns queries filter on. Its cost is accounted
/// as the JSON's bytes plus the metadata strings plus ``entryOverhead`` (array
/// slot, index entry, string headers, allocator rounding); when a new decision
/// would take the total past the budget, the oldest decisions are evicted
/// first. Memory therefore stops growing once the ring is full, however many
/// requests follow.
///
/// Spend is not kept here: it lives in the budget ledger's own store. A pure
/// value: ``AuditStore`` keeps it behind a `Mutex`, tests drive it directly.
struct AuditMemoryRing {
  /// The ring behind a lock, as the store holds it.
  final class Locked: Sendable {
    let state: Mutex<AuditMemoryRing>
    init(_ ring: AuditMemoryRing) { state = Mutex(ring) }
  }

  /// Accounted bytes per decision on top of its JSON and metadata strings.
  static let entryOverhead = 256

  struct Entry {
    var sequence: UInt64
    var requestID: String
    var timestampMs: Int64
    var route: String
    var tenant: String
    var correlationID: String?
    var outcome: DecisionEvent.Outcome
    /// The decision's tags (bounded by `RequestTags`).
    var tags: [String: String] = [:]
    /// The provider that served, then every provider attempted (skipped ones included).
    var providers: [String]
    var json: String
    var bytes: Int
    /// False once evicted, pruned or replaced by a decision with the same request id.
    var live: Bool
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

  /// The accounted size of a decision whose stored JSON is `json`.
  static func accountedBytes(_ event: DecisionEvent, json: String) -> Int {
    var n = entryOverhead + json.utf8.count + 2 * event.requestID.utf8.count + event.route.utf8.count
      + event.tenant.utf8.count
    if let p = event.chosenProvider { n += p.utf8.count + 16 }
    for a in event.attempts { n += a.provider.utf8.count + 16 }
    // The filter's copy of the tags (their JSON copy is in `json`).
    for (k, v) in event.tags ?? [:] { n += k.utf8.count + v.utf8.count + 32 }
    return n
  }

  /// Records a decision (its JSON already encoded). A request id seen before is
  /// refused, like the SQLite store's primary key: the first decision stays.
  mutating func record(_ event: DecisionEvent, json: String) {
    if let old = index[event.requestID], let i = position(of: old), entries[i].live { refused += 1; return }
    recorded += 1
    var providers: [String] = []
    if let p = event.chosenProvider { providers.append(p) }
    for a in event.attempts where !providers.contains(a.provider) { providers.append(a.provider) }
    let bytes = Self.accountedBytes(event, json: json)
    while usedBytes + bytes > budgetBytes, head < entries.count {
      if entries[head].live { evicted += 1 }
      dropOldest()
    }
    let seq = nextSequence
    nextSequence += 1
    entries.append(Entry(sequence: seq, requestID: event.requestID, timestampMs: event.timestampMs, route: event.route,
                         tenant: event.tenant, correlationID: event.correlationID, outcome: event.outcome, tags: event.tags ?? [:],
                         providers: providers, json: json, bytes: bytes, live: true))
    index[event.requestID] = seq
    usedBytes += bytes
    count += 1
  }

  /// The stored JSON of the decision with `requestID`.
  func json(requestID: String) -> String? {
    guard let seq = index[requestID], let i = position(of: seq), entries[i].live else { return nil }
    return entries[i].json
  }

  /// The stored JSON of the decisions matching `filter`, in its order and limit
  /// (ties in time keep recording order, like the SQLite store's rowid).
  func json(matching f: DecisionFilter) -> [String] {
    var matches: [Int] = []
    for i in head..<entries.count where entries[i].live && Self.matches(entries[i], f) { matches.append(i) }
    // Recording order is nearly time order; a stable sort by time settles the rest.
    let ordered = matches.enumerated().sorted { a, b in
      let ta = entries[a.element].timestampMs, tb = entries[b.element].timestampMs
      return ta != tb ? ta < tb : a.offset < b.offset
    }.map(\.element)
    let sequence = f.order == .newestFirst ? Array(ordered.reversed()) : ordered
    let limited = f.limit.map { Array(sequence.prefix(max(0, $0))) } ?? sequence
    return limited.map { entries[$0].json }
  }

  static func matches(_ e: Entry, _ f: DecisionFilter) -> Bool {
    if let v = f.sinceMs, e.timestampMs < v { return false }
    if let v = f.untilMs, e.timestampMs >= v { return false }
    if let v = f.route, e.route != v { return false }
    if let v = f.tenant, e.tenant != v { return false }
    if let v = f.correlationID, e.correlationID != v { return false }
    if let v = f.outcome, e.outcome != v { return false }
    if let v = f.provider, !e.providers.contains(v) { return false }
    for (k, v) in f.tags where e.tags[k] != v { return false }
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

  /// Marks an entry dead and releases its JSON; the slot's overhead stays
  /// accounted until the slot is dropped from the front.
  private mutating func kill(at i: Int) {
    guard entries[i].live else { return }
    entries[i].live = false
    if index[entries[i].requestID] == entries[i].sequence { index[entries[i].requestID] = nil }
    let released = entries[i].bytes - Self.entryOverhead
    usedBytes -= released
    entries[i].bytes = Self.entryOverhead
    entries[i].json = ""
    entries[i].providers = []
    entries[i].requestID = ""
    entries[i].route = ""
    entries[i].tenant = ""
    entries[i].tags = [:]
    count -= 1
  }

  private mutating func dropOldest() {
    kill(at: head)
    usedBytes -= entries[head].bytes
    entries[head] = Entry(sequence: entries[head].sequence, requestID: "", timestampMs: 0, route: "", tenant: "",
                          outcome: .success, providers: [], json: "", bytes: 0, live: false)
    head += 1
    // Compact once the dropped prefix is at least half of the array.
    if head >= 1024, head * 2 >= entries.count {
      entries.removeFirst(head)
      head = 0
    }
  }
}
