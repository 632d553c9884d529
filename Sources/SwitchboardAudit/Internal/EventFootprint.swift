import SwitchboardCore

/// A conservative estimate of the heap a `DecisionEvent` value owns, for the
/// in-memory ring's byte budget (``AuditMemoryRing``).
///
/// Counted: every array by its capacity times its element's stride, every string
/// too long for Swift's inline (small-string) form as a native string block
/// (32-byte header, the UTF-8 bytes and a terminator; twice the bytes when it may
/// have grown by appending), the tags' dictionary with its buckets at twice the
/// capacity, and the nested records' arrays and strings. Each heap block is rounded
/// up to 16 bytes plus 16 bytes of malloc header. Strings shared with other
/// values (configured provider, model and route names) are counted as owned, so
/// the estimate errs high; `AuditMemoryFootprintTests` checks it against the
/// allocator's own count for events whose every string is unique.
enum EventFootprint {
  /// A heap block of `n` requested bytes: malloc's 16-byte granularity and header.
  @inline(__always) static func block(_ n: Int) -> Int { ((n + 15) & ~15) + 16 }

  /// A string's heap block, or 0 when it is stored inline (≤ 15 UTF-8 bytes).
  @inline(__always) static func string(_ s: String) -> Int {
    let n = s.utf8.count
    // Strings built by appending can hold up to twice their length in capacity.
    return n <= 15 ? 0 : block(32 + 2 * n + 1)
  }

  @inline(__always) static func string(_ s: String?) -> Int { s.map { string($0) } ?? 0 }

  /// An array's heap block (32-byte header, then `capacity` elements); 0 when empty.
  @inline(__always) static func array<T>(_ a: [T]) -> Int {
    a.capacity == 0 ? 0 : block(32 + a.capacity * MemoryLayout<T>.stride)
  }

  static func strings(_ a: [String]) -> Int {
    var n = array(a)
    for s in a { n += string(s) }
    return n
  }

  static func bytes(of e: DecisionEvent) -> Int {
    var n = string(e.requestID) + string(e.tenant) + string(e.route) + string(e.strategy) + string(e.message)
    n += string(e.chosenProvider) + string(e.chosenModel) + string(e.baselineProvider) + string(e.baselineModel)
    n += string(e.correlationID) + string(e.subTenant) + string(e.stateBackend) + string(e.traceID)
    n += array(e.candidates)
    for c in e.candidates { n += string(c.provider) + string(c.model) + string(c.detail) }
    n += attempts(e.attempts)
    n += strings(e.budgetScopes) + strings(e.warnings)
    if let caps = e.caps {
      n += array(caps)
      for c in caps { n += string(c.scope) + string(c.window) + string(c.period) }
    }
    if let t = e.tier {
      n += string(t.tier) + string(t.rule) + string(t.ruleDetail) + string(t.routerTier) + string(t.routerReason)
      n += attempts(t.routerAttempts) + strings(t.excluded)
    }
    if let tags = e.tags, tags.capacity > 0 {
      // Native dictionary: a header, then key, value and metadata per bucket (at most 2× capacity).
      n += block(64 + 2 * tags.capacity * (MemoryLayout<String>.stride * 2 + 1))
      for (k, v) in tags { n += string(k) + string(v) }
    }
    if let h = e.hedge { n += strings(h.refused) }
    return n
  }

  static func attempts(_ a: [AttemptRecord]) -> Int {
    var n = array(a)
    for r in a {
      n += string(r.provider) + string(r.model) + string(r.keyFingerprint) + string(r.message) + string(r.timeoutFired)
      if let s = r.chargedScopes { n += strings(s) }
    }
    return n
  }
}
