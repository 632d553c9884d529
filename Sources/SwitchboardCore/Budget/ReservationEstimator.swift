/// The worst case one attempt may cost: the reservation it makes before it starts.
public enum ReservationEstimator {
  /// Tokens of framing per message (role markers, separators), generously.
  public static let perMessageOverhead = 16
  /// Tokens of framing per request (reply priming, system wrapper).
  public static let perRequestOverhead = 32
  /// Tokens of framing per tool definition.
  public static let perToolOverhead = 32
  /// Tokens one image can cost at most (OpenAI high detail ≤ 1,105; Anthropic ≤ ~1,600).
  public static let perImageTokens = 6_000

  /// An upper bound of the input tokens of `request` (plus `prefill`, sent as a
  /// partial assistant message): the UTF-8 byte count of every text sent plus overheads.
  public static func inputTokenBound(_ request: ChatRequest, prefill: String = "") -> Int {
    var bytes = prefill.utf8.count
    var overhead = perRequestOverhead + (prefill.isEmpty ? 0 : perMessageOverhead)
    for m in request.messages {
      overhead += perMessageOverhead
      bytes += m.role.rawValue.utf8.count + (m.name?.utf8.count ?? 0) + (m.toolCallID?.utf8.count ?? 0)
      if m.parts.isEmpty {
        bytes += m.content.utf8.count
      } else {
        for p in m.parts {
          switch p {
          case .text(let t): bytes += t.utf8.count
          case .image(let i): bytes += i.url.utf8.count; overhead += perImageTokens
          }
        }
      }
      for t in m.toolCalls { bytes += t.id.utf8.count + t.name.utf8.count + t.argumentsJSON.utf8.count; overhead += perMessageOverhead }
    }
    for t in request.tools {
      bytes += t.name.utf8.count + t.description.utf8.count + t.parametersJSONSchema.utf8.count
      overhead += perToolOverhead
    }
    if case .jsonSchema(let name, let schema, _) = request.responseFormat { bytes += name.utf8.count + schema.utf8.count; overhead += perToolOverhead }
    for s in request.stop { bytes += s.utf8.count }
    bytes += (request.toolChoice?.utf8.count ?? 0)
    return bytes + overhead
  }

  /// Input tokens to reserve for `request` with `estimator`.
  public static func inputTokens(_ request: ChatRequest, estimator: InputEstimator, prefill: String = "") -> Int {
    switch estimator {
    case .exact: return inputTokenBound(request, prefill: prefill)
    case .heuristic: return TokenEstimator.estimateInputTokens(request) + (prefill.isEmpty ? 0 : TokenEstimator.estimateTokens(prefill) + 4)
    }
  }

  /// Output tokens to reserve on `info`: the request's `max_tokens`, else the model's
  /// `max_output` (a request without `max_tokens` may produce that much).
  public static func outputTokens(_ request: ChatRequest, info: ModelInfo) -> Int {
    request.maxTokens ?? info.maxOutputTokens
  }

  /// The reservation of one attempt of `request` on `info`; nil when no price (real
  /// or assumed) is known.
  public static func worstCase(_ request: ChatRequest, info: ModelInfo, inputTokens: Int) -> MicroUSD? {
    info.budgetPrices?.worstCase(inputTokens: inputTokens, outputTokens: outputTokens(request, info: info))
  }

  /// The reservation of an attempt that may continue `delivered` text as a prefill:
  /// the planned worst case plus the prefill's bytes at the dearest input price.
  public static func attemptAmount(_ candidate: PlannedCandidate, delivered: String) -> MicroUSD {
    guard let w = candidate.worstCase else { return .zero }
    guard !delivered.isEmpty, let p = candidate.info.budgetPrices else { return w }
    return w + p.worstCase(inputTokens: delivered.utf8.count + perMessageOverhead, outputTokens: 0)
  }
}
