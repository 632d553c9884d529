import Foundation
import SwitchboardCore
import SwitchboardWire

/// A request the daemon refuses before routing.
struct RequestValidationError: Error {
  var message: String
}

enum ProtoConversion {
  /// Converts and validates a wire request.
  static func chatRequest(_ r: Switchboard_V1_CompletionRequest) throws -> ChatRequest {
    guard !r.messages.isEmpty else { throw RequestValidationError(message: "messages must not be empty") }
    var explicit: CandidateRef?
    var route: String?
    if !r.route.isEmpty {
      if !r.provider.isEmpty || !r.model.isEmpty { throw RequestValidationError(message: "name a route or a provider/model, not both") }
      route = r.route
    } else if !r.provider.isEmpty || !r.model.isEmpty {
      guard !r.provider.isEmpty, !r.model.isEmpty else { throw RequestValidationError(message: "provider and model go together") }
      explicit = CandidateRef(provider: r.provider, model: r.model)
    } else {
      throw RequestValidationError(message: "the request names neither a route nor a provider/model")
    }
    var messages: [ChatMessage] = []
    messages.reserveCapacity(r.messages.count)
    for (i, m) in r.messages.enumerated() {
      let role: ChatRole
      switch m.role {
      case .system: role = .system
      case .user: role = .user
      case .assistant: role = .assistant
      case .tool: role = .tool
      default: throw RequestValidationError(message: "messages[\(i)].role must be set (system, user, assistant or tool)")
      }
      if role == .tool && m.toolCallID.isEmpty {
        throw RequestValidationError(message: "messages[\(i)]: a tool message needs tool_call_id")
      }
      let (content, parts) = try contentParts(m, index: i, role: role)
      messages.append(ChatMessage(role: role, content: content, parts: parts,
                                  toolCalls: m.toolCalls.map { ToolCall(id: $0.id, name: $0.name, argumentsJSON: $0.argumentsJson) },
                                  toolCallID: m.toolCallID.isEmpty ? nil : m.toolCallID, name: m.name.isEmpty ? nil : m.name))
    }
    var tools: [ToolSpec] = []
    for (i, t) in r.tools.enumerated() {
      guard !t.name.isEmpty else { throw RequestValidationError(message: "tools[\(i)].name must not be empty") }
      let schema = t.parametersJsonSchema.isEmpty ? "{\"type\":\"object\"}" : t.parametersJsonSchema
      guard (try? JSONSerialization.jsonObject(with: Data(schema.utf8))) is [String: Any] else {
        throw RequestValidationError(message: "tools[\(i)].parameters_json_schema is not a JSON object")
      }
      tools.append(ToolSpec(name: t.name, description: t.description_p, parametersJSONSchema: schema))
    }
    let format: ResponseFormat
    switch r.responseFormat.type {
    case .jsonObject: format = .jsonObject
    case .jsonSchema:
      guard (try? JSONSerialization.jsonObject(with: Data(r.responseFormat.jsonSchema.utf8))) is [String: Any] else {
        throw RequestValidationError(message: "response_format.json_schema is not a JSON object")
      }
      format = .jsonSchema(name: r.responseFormat.schemaName.isEmpty ? "response" : r.responseFormat.schemaName,
                           schema: r.responseFormat.jsonSchema, strict: r.responseFormat.strict)
    default: format = .text
    }
    var maxTokens: Int?
    if case .maxTokens(let v)? = r.optMaxTokens {
      guard v > 0 else { throw RequestValidationError(message: "max_tokens must be positive") }
      maxTokens = Int(v)
    }
    var temperature: Double?
    if case .temperature(let v)? = r.optTemperature {
      guard v >= 0, v <= 2 else { throw RequestValidationError(message: "temperature must be between 0 and 2") }
      temperature = v
    }
    var topP: Double?
    if case .topP(let v)? = r.optTopP {
      guard v > 0, v <= 1 else { throw RequestValidationError(message: "top_p must be in (0, 1]") }
      topP = v
    }
    var seed: Int64?
    if case .seed(let v)? = r.optSeed { seed = v }
    var constraints = RequestConstraints()
    if case .maxCostMicroUsd(let v)? = r.constraints.optMaxCostMicroUsd {
      guard v >= 0 else { throw RequestValidationError(message: "constraints.max_cost_micro_usd must not be negative") }
      constraints.maxCostUSD = MicroUSD(v).usd
    } else if case .maxCostUsd(let v)? = r.constraints.optMaxCostUsd {
      guard v >= 0, v.isFinite else { throw RequestValidationError(message: "constraints.max_cost_usd must be a finite, non-negative number") }
      constraints.maxCostUSD = v
    }
    if case .latencySlaMs(let v)? = r.constraints.optLatencySlaMs { constraints.latencySLA = .milliseconds(Int64(v)) }
    for c in r.constraints.requiredCapabilities {
      guard let cap = Capability(rawValue: c) else {
        throw RequestValidationError(message: "unknown capability '\(c)' (tools, vision, json_schema, streaming, prefill)")
      }
      constraints.required.insert(cap)
    }
    var overrides: [String: Secret] = [:]
    for k in r.keyOverrides where !k.provider.isEmpty && !k.apiKey.isEmpty { overrides[k.provider] = Secret(k.apiKey) }
    return ChatRequest(
      route: route, explicitTarget: explicit, messages: messages, tools: tools,
      toolChoice: r.toolChoice.isEmpty ? nil : r.toolChoice, responseFormat: format, maxTokens: maxTokens,
      temperature: temperature, topP: topP, stop: r.stop, seed: seed, stream: r.stream, constraints: constraints,
      tenant: r.tenant.isEmpty ? nil : r.tenant, tags: r.tags, keyOverrides: overrides,
      deadline: r.deadlineMs > 0 ? .milliseconds(Int64(r.deadlineMs)) : nil,
      requestID: r.requestID.isEmpty ? nil : String(r.requestID.prefix(128)))
  }

  /// The text and ordered parts of a wire message. Text-only parts collapse into
  /// `content` (core `parts` is non-empty only when there is an image).
  static func contentParts(_ m: Switchboard_V1_Message, index i: Int, role: ChatRole) throws -> (String, [ContentPart]) {
    guard !m.parts.isEmpty else { return (m.content, []) }
    guard m.content.isEmpty else {
      throw RequestValidationError(message: "messages[\(i)]: set content or parts, not both")
    }
    var parts: [ContentPart] = []
    var texts: [String] = []
    var images = 0
    for (j, p) in m.parts.enumerated() {
      switch p.kind {
      case .text(let t):
        parts.append(.text(t)); texts.append(t)
      case .image(let img):
        guard role == .user else {
          throw RequestValidationError(message: "messages[\(i)].parts[\(j)]: images are allowed in user messages only")
        }
        try validateImage(img, at: "messages[\(i)].parts[\(j)].image")
        parts.append(.image(ImageReference(url: img.url, detail: img.detail.isEmpty ? nil : img.detail)))
        images += 1
      case nil:
        throw RequestValidationError(message: "messages[\(i)].parts[\(j)] has neither text nor image")
      }
    }
    return (texts.joined(separator: "\n"), images > 0 ? parts : [])
  }

  /// Media types an image data URL may carry (what both dialects accept).
  static let imageMediaTypes: Set<String> = ["image/png", "image/jpeg", "image/gif", "image/webp"]

  static func validateImage(_ img: Switchboard_V1_ImageUrl, at path: String) throws {
    switch img.detail {
    case "", "auto", "low", "high": break
    default: throw RequestValidationError(message: "\(path).detail must be auto, low or high")
    }
    let url = img.url
    if url.hasPrefix("https://") || url.hasPrefix("http://") {
      guard url.utf8.count > 8, !url.contains(where: { $0.isWhitespace }) else {
        throw RequestValidationError(message: "\(path).url is not a valid URL")
      }
      return
    }
    if url.hasPrefix("data:") {
      guard case let (mediaType, payload)? = ImageReference(url: url).base64DataURL else {
        throw RequestValidationError(message: "\(path).url: a data URL must be data:<image type>;base64,<data>")
      }
      guard imageMediaTypes.contains(mediaType) else {
        throw RequestValidationError(message: "\(path).url: unsupported image type (png, jpeg, gif or webp)")
      }
      guard !payload.isEmpty, payload.utf8.allSatisfy({ b in
        (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2B || b == 0x2F || b == 0x3D
      }) else {
        throw RequestValidationError(message: "\(path).url: the data URL's payload is not base64")
      }
      return
    }
    throw RequestValidationError(message: "\(path).url must be an https:// or data:image/...;base64 URL")
  }

  static func usage(_ u: Usage, estimated: Int) -> Switchboard_V1_Usage {
    var p = Switchboard_V1_Usage()
    p.inputTokens = UInt32(clamping: u.inputTokens)
    p.outputTokens = UInt32(clamping: u.outputTokens)
    p.cachedInputTokens = UInt32(clamping: u.cachedInputTokens)
    p.cacheWriteTokens = UInt32(clamping: u.cacheWriteTokens)
    p.estimatedInputTokens = UInt32(clamping: estimated)
    return p
  }

  static func response(_ r: CompletionResult) -> Switchboard_V1_CompletionResponse {
    var p = Switchboard_V1_CompletionResponse()
    p.requestID = r.requestID
    p.content = r.response.content
    p.toolCalls = r.response.toolCalls.map { t in
      var c = Switchboard_V1_ToolCall(); c.id = t.id; c.name = t.name; c.argumentsJson = t.argumentsJSON; return c
    }
    switch r.response.finishReason {
    case .stop: p.finishReason = .stop
    case .length: p.finishReason = .length
    case .toolCalls: p.finishReason = .toolCalls
    case .contentFilter: p.finishReason = .contentFilter
    case .unknown: p.finishReason = .unspecified
    }
    p.provider = r.served.provider
    p.model = r.served.model
    p.usage = usage(r.response.usage, estimated: r.estimatedInputTokens)
    if let c = r.costMicroUSD {
      p.optCostMicroUsd = .costMicroUsd(c); p.optCostUsd = .costUsd(MicroUSD(c).usd)
    } else if let c = r.costUSD { p.optCostUsd = .costUsd(c) }
    if let c = r.baselineCostUSD {
      let m = MicroUSD(usd: c)
      p.optBaselineCostMicroUsd = .baselineCostMicroUsd(m.value); p.optBaselineCostUsd = .baselineCostUsd(m.usd)
      if let cm = r.costMicroUSD {
        p.optCostDeltaMicroUsd = .costDeltaMicroUsd(cm - m.value); p.optCostDeltaUsd = .costDeltaUsd(MicroUSD(cm - m.value).usd)
      }
    }
    if p.optCostDeltaUsd == nil, let c = r.costDeltaUSD { p.optCostDeltaUsd = .costDeltaUsd(c) }
    p.totalSpendMicroUsd = r.totalSpendMicroUSD
    p.attempts = UInt32(r.attempts)
    p.decisionSummary = r.summary
    p.route = r.route
    p.latencyMs = UInt32(clamping: Int(r.latency.milliseconds))
    p.warnings = r.warnings
    return p
  }

  /// A ledger snapshot entry on the wire (integers, and the deprecated doubles derived from them).
  static func budget(_ b: BudgetSnapshot) -> Switchboard_V1_BudgetState {
    var p = Switchboard_V1_BudgetState()
    p.scope = b.scope; p.window = b.window; p.period = b.period
    p.spentMicroUsd = b.spent.value; p.reservedMicroUsd = b.reserved.value
    p.spentUsd = b.spent.usd; p.reservedUsd = b.reserved.usd
    if let s = b.limit.soft { p.optSoftLimitMicroUsd = .softLimitMicroUsd(s.value); p.optSoftLimitUsd = .softLimitUsd(s.usd) }
    if let h = b.limit.hard { p.optHardLimitMicroUsd = .hardLimitMicroUsd(h.value); p.optHardLimitUsd = .hardLimitUsd(h.usd) }
    return p
  }

  static func statusCode(_ c: RoutingStatusCode) -> Switchboard_V1_Status.Code {
    switch c {
    case .cancelled: return .cancelled
    case .invalidArgument: return .invalidArgument
    case .deadlineExceeded: return .deadlineExceeded
    case .notFound: return .notFound
    case .permissionDenied: return .permissionDenied
    case .resourceExhausted: return .resourceExhausted
    case .failedPrecondition: return .failedPrecondition
    case .unavailable: return .unavailable
    case .internal: return .internal
    case .unauthenticated: return .unauthenticated
    case .overloaded: return .overloaded
    case .upstreamRejected: return .upstreamRejected
    }
  }

  /// The tier decision of a tiered route's event; its router attempts convert like the event's own.
  static func tierDecision(_ t: TierDecisionRecord, of e: DecisionEvent) -> Switchboard_V1_TierDecision {
    var p = Switchboard_V1_TierDecision()
    p.tier = t.tier
    p.source = t.source.rawValue
    p.reasonCode = t.reason.rawValue
    p.rule = t.rule ?? ""
    p.ruleDetail = t.ruleDetail ?? ""
    p.routerTier = t.routerTier ?? ""
    p.routerReason = t.routerReason ?? ""
    var routerOnly = e
    routerOnly.attempts = t.routerAttempts
    routerOnly.tier = nil
    p.routerAttempts = event(routerOnly).attempts
    p.routerLatencyMs = UInt32(clamping: Int(t.routerLatencyMs))
    p.routerCostMicroUsd = t.routerCostMicroUSD
    p.excluded = t.excluded
    return p
  }

  static func event(_ e: DecisionEvent) -> Switchboard_V1_DecisionEvent {
    var p = Switchboard_V1_DecisionEvent()
    p.requestID = e.requestID
    p.timestampMs = e.timestampMs
    p.tenant = e.tenant
    p.route = e.route
    p.strategy = e.strategy
    p.stream = e.stream
    p.outcome = e.outcome.rawValue
    p.statusCode = e.statusCode.map(statusCode) ?? .ok
    p.reasonCode = e.reason?.rawValue ?? ""
    p.candidates = e.candidates.map { c in
      var pc = Switchboard_V1_CandidateEvaluation()
      pc.provider = c.provider; pc.model = c.model; pc.eligible = c.eligible
      pc.rejectionReason = c.rejection?.rawValue ?? ""
      if let s = c.score { pc.optScore = .score(s) }
      if let w = c.worstCaseMicroUSD {
        pc.optWorstCaseMicroUsd = .worstCaseMicroUsd(w); pc.optWorstCaseCostUsd = .worstCaseCostUsd(MicroUSD(w).usd)
      } else if let w = c.worstCaseCostUSD { pc.optWorstCaseCostUsd = .worstCaseCostUsd(w) }
      pc.rank = UInt32(clamping: c.rank); pc.detail = c.detail
      return pc
    }
    p.attempts = e.attempts.map { a in
      var pa = Switchboard_V1_AttemptRecord()
      pa.index = UInt32(clamping: a.index); pa.provider = a.provider; pa.model = a.model
      pa.keySource = a.keySource.rawValue; pa.keyFingerprint = a.keyFingerprint
      pa.startedOffsetMs = UInt64(max(0, a.startedOffsetMs)); pa.latencyMs = UInt32(clamping: Int(a.latencyMs))
      if let f = a.firstTokenMs { pa.optFirstTokenMs = .firstTokenMs(UInt32(clamping: Int(f))) }
      pa.outcome = a.outcome.rawValue; pa.failureClass = a.failureClass?.rawValue ?? ""
      pa.reasonCode = a.reason?.rawValue ?? ""; pa.httpStatus = UInt32(clamping: a.httpStatus ?? 0)
      pa.usage = usage(a.usage, estimated: a.estimatedInputTokens)
      if let c = a.chargedMicroUSD {
        pa.optCostMicroUsd = .costMicroUsd(c); pa.optCostUsd = .costUsd(MicroUSD(c).usd)
      } else if let c = a.costUSD { pa.optCostUsd = .costUsd(c) }
      if let r = a.reservedMicroUSD { pa.optReservedMicroUsd = .reservedMicroUsd(r) }
      pa.overageMicroUsd = a.overageMicroUSD ?? 0
      pa.chargedScopes = a.chargedScopes ?? []
      pa.message = a.message; pa.sameCandidateRetry = a.sameCandidateRetry
      pa.timeoutFired = a.timeoutFired ?? ""
      pa.timeoutLimitMs = UInt32(clamping: Int((a.timeoutLimitMs ?? 0).rounded()))
      pa.hedge = a.hedge ?? false; pa.hedgeLost = a.hedgeLost ?? false
      pa.hedgeOf = UInt32(clamping: a.hedgeOf ?? 0)
      return pa
    }
    p.chosenProvider = e.chosenProvider ?? ""
    p.chosenModel = e.chosenModel ?? ""
    p.baselineProvider = e.baselineProvider ?? ""
    p.baselineModel = e.baselineModel ?? ""
    if let c = e.costMicroUSD {
      p.optCostMicroUsd = .costMicroUsd(c); p.optCostUsd = .costUsd(MicroUSD(c).usd)
    } else if let c = e.costUSD { p.optCostUsd = .costUsd(c) }
    if let c = e.baselineCostUSD {
      let m = MicroUSD(usd: c)
      p.optBaselineCostMicroUsd = .baselineCostMicroUsd(m.value); p.optBaselineCostUsd = .baselineCostUsd(m.usd)
      if let cm = e.costMicroUSD {
        p.optCostDeltaMicroUsd = .costDeltaMicroUsd(cm - m.value); p.optCostDeltaUsd = .costDeltaUsd(MicroUSD(cm - m.value).usd)
      }
    }
    if p.optCostDeltaUsd == nil, let c = e.costDeltaUSD { p.optCostDeltaUsd = .costDeltaUsd(c) }
    p.totalSpendMicroUsd = e.totalSpendMicroUSD ?? MicroUSD(usd: e.totalSpendUSD).value
    p.correlationID = e.correlationID ?? ""
    p.traceID = e.traceID ?? ""
    p.subTenant = e.subTenant ?? ""
    p.budgetScopes = e.budgetScopes
    p.overageMicroUsd = e.overageMicroUSD ?? 0
    p.stateBackend = e.stateBackend ?? ""
    if let h = e.hedge {
      var ph = Switchboard_V1_HedgeSummary()
      ph.delayMs = UInt32(clamping: Int(h.delayMs)); ph.started = UInt32(clamping: h.started)
      ph.winnerAttempt = UInt32(clamping: h.winnerAttempt ?? 0); ph.winnerIsHedge = h.winnerIsHedge
      ph.extraCostMicroUsd = h.extraCostMicroUSD; ph.refused = h.refused
      p.hedge = ph
    }
    p.caps = (e.caps ?? []).map { c in
      var pc = Switchboard_V1_BudgetCap()
      pc.scope = c.scope; pc.window = c.window; pc.period = c.period
      if let v = c.softMicroUSD { pc.optSoftMicroUsd = .softMicroUsd(v) }
      if let v = c.hardMicroUSD { pc.optHardMicroUsd = .hardMicroUsd(v) }
      pc.spentMicroUsd = c.spentMicroUSD; pc.reservedMicroUsd = c.reservedMicroUSD
      if let v = c.headroomMicroUSD { pc.optHeadroomMicroUsd = .headroomMicroUsd(v) }
      return pc
    }
    if let t = e.tier { p.tier = tierDecision(t, of: e) }
    p.tags = e.tags ?? [:]
    p.totalLatencyMs = UInt32(clamping: Int(e.totalLatencyMs))
    p.warnings = e.warnings
    p.peerUid = e.peerUID ?? 0
    p.usage = usage(e.usage, estimated: e.attempts.last?.estimatedInputTokens ?? 0)
    return p
  }
}
