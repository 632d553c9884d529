import SwitchboardCore

/// A request's resolved labels and request-level series, keyed by what the event
/// says (route, tenant, outcome, unknown route or not).
struct RequestHandle: Sendable {
  var route: String
  var tenant: String
  var outcome: DecisionEvent.Outcome
  var unknownRoute: Bool
  /// The labels `route` and `tenant` fold to (the domain's rules).
  var routeLabel: String
  var tenantLabel: String
  var requestSlot: Int
  var durationSlot: Int
}

/// An attempt's resolved labels and series, keyed by the attempt's candidate and
/// outcome and its request's route and tenant. The latency, usage and first-token
/// slots are resolved when first needed, so a series still appears only once an
/// attempt feeds it.
struct AttemptHandle: Sendable {
  var route: String
  var tenant: String
  var unknownRoute: Bool
  var provider: String
  var model: String
  var outcome: AttemptRecord.Outcome
  var failureClass: FailureClass?
  var reason: ReasonCode?
  var providerLabel: String
  var modelLabel: String
  var attemptSlot: Int
  var latencySlot: Int?
  var usageSlot: Int?
  var firstTokenSlot: Int?
}

/// Resolving a request's series once and reusing the result: the label rules
/// (domain folding, dynamic tenants) and the series lookups hash label text, so
/// they run when a combination is first seen (or was pushed out of the cache);
/// a request seen recently costs a few string comparisons and integer bumps.
///
/// The cached labels stay right until the domain changes (which clears the
/// caches): a tenant's dynamic label, once given or refused, never changes, and
/// series are never removed, so slots stay valid.
extension MetricsState {
  /// Handles kept per kind; past that, the oldest is replaced (the full lookup still works).
  static let requestHandleCapacity = 16
  static let attemptHandleCapacity = 32

  mutating func forgetHandles() {
    requestHandles.removeAll(keepingCapacity: true)
    attemptHandles.removeAll(keepingCapacity: true)
    nextRequestHandle = 0
    nextAttemptHandle = 0
  }

  /// The handle of `event`'s request-level series.
  mutating func requestHandle(_ event: DecisionEvent) -> RequestHandle {
    let unknown = event.reason == .unknownRoute
    for i in requestHandles.indices {
      let h = requestHandles[i]
      if h.outcome == event.outcome, h.unknownRoute == unknown, h.route == event.route, h.tenant == event.tenant { return h }
    }
    let route: String
    if unknown {
      route = SwitchboardMetrics.unknownRouteLabel
    } else if let domain, !domain.routes.contains(event.route) {
      route = event.route.utf8.contains(UInt8(ascii: "/")) ? SwitchboardMetrics.directRouteLabel : SwitchboardMetrics.otherLabel
    } else {
      route = event.route
    }
    let tenant: String
    if let domain, !domain.tenants.contains(event.tenant), !dynamicTenants.contains(event.tenant) {
      if dynamicTenants.count < SwitchboardMetrics.maxDynamicTenantLabels {
        dynamicTenants.insert(event.tenant); tenant = event.tenant
      } else {
        tenant = SwitchboardMetrics.otherLabel
      }
    } else {
      tenant = event.tenant
    }
    let h = RequestHandle(
      route: event.route, tenant: event.tenant, outcome: event.outcome, unknownRoute: unknown, routeLabel: route, tenantLabel: tenant,
      requestSlot: Self.slot(RequestSeries(route: route, outcome: event.outcome), &requestSlots, &requestCounts) { 0 },
      durationSlot: Self.slot(route, &requestDurationSlots, &requestDurationValues) {
        HistogramState(bucketCount: SwitchboardMetrics.requestDurationBuckets.count)
      })
    if requestHandles.count < Self.requestHandleCapacity {
      requestHandles.append(h)
    } else {
      requestHandles[nextRequestHandle] = h
      nextRequestHandle = (nextRequestHandle + 1) % Self.requestHandleCapacity
    }
    return h
  }

  /// The index in `attemptHandles` of `a`'s handle (valid until the next call).
  mutating func attemptHandle(_ a: AttemptRecord, of r: RequestHandle) -> Int {
    for i in attemptHandles.indices {
      let h = attemptHandles[i]
      if h.outcome == a.outcome, h.reason == a.reason, h.failureClass == a.failureClass, h.unknownRoute == r.unknownRoute,
         h.provider == a.provider, h.model == a.model, h.route == r.route, h.tenant == r.tenant { return i }
    }
    let provider: String, model: String
    if let domain {
      // One lookup on the common path: the domain's candidates are all of configured providers.
      if domain.candidates.contains(CandidateRef(provider: a.provider, model: a.model)) {
        provider = a.provider; model = a.model
      } else if domain.providers.contains(a.provider) {
        provider = a.provider; model = SwitchboardMetrics.otherLabel
      } else {
        provider = SwitchboardMetrics.otherLabel; model = SwitchboardMetrics.otherLabel
      }
    } else {
      provider = a.provider; model = a.model
    }
    let cancelled = a.reason == .cancelled
    let key = AttemptSeries(provider: provider, model: model, outcome: a.outcome,
                            failureClass: cancelled ? nil : a.failureClass, reason: a.reason, cancelled: cancelled)
    let h = AttemptHandle(route: r.route, tenant: r.tenant, unknownRoute: r.unknownRoute, provider: a.provider, model: a.model,
                          outcome: a.outcome, failureClass: a.failureClass, reason: a.reason,
                          providerLabel: provider, modelLabel: model,
                          attemptSlot: Self.slot(key, &attemptSlots, &attemptCounts) { 0 })
    if attemptHandles.count < Self.attemptHandleCapacity {
      attemptHandles.append(h)
      return attemptHandles.count - 1
    }
    let i = nextAttemptHandle
    attemptHandles[i] = h
    nextAttemptHandle = (nextAttemptHandle + 1) % Self.attemptHandleCapacity
    return i
  }

  mutating func latencySlot(_ i: Int) -> Int {
    if let s = attemptHandles[i].latencySlot { return s }
    let h = attemptHandles[i]
    let s = Self.slot(CandidateSeries(provider: h.providerLabel, model: h.modelLabel), &upstreamLatencySlots, &upstreamLatencyValues) {
      HistogramState(bucketCount: SwitchboardMetrics.upstreamLatencyBuckets.count)
    }
    attemptHandles[i].latencySlot = s
    return s
  }

  mutating func usageSlot(_ i: Int, _ r: RequestHandle) -> Int {
    if let s = attemptHandles[i].usageSlot { return s }
    let h = attemptHandles[i]
    let s = Self.slot(UsageSeries(route: r.routeLabel, provider: h.providerLabel, model: h.modelLabel, tenant: r.tenantLabel),
                      &usageSlots, &usageValues) { UsageCounters() }
    attemptHandles[i].usageSlot = s
    return s
  }

  mutating func firstTokenSlot(_ i: Int, _ r: RequestHandle) -> Int {
    if let s = attemptHandles[i].firstTokenSlot { return s }
    let h = attemptHandles[i]
    let s = Self.slot(RouteCandidateSeries(route: r.routeLabel, provider: h.providerLabel, model: h.modelLabel),
                      &firstTokenSlots, &firstTokenValues) {
      HistogramState(bucketCount: SwitchboardMetrics.firstTokenBuckets.count)
    }
    attemptHandles[i].firstTokenSlot = s
    return s
  }
}
