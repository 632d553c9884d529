/// Estimates prompt tokens before any call, for context and cost caps.
/// A deliberate over-estimate (about 3.5 characters a token plus per-message
/// overhead), so caps err on the safe side.
public enum TokenEstimator {
  /// Estimated input tokens of `request`.
  public static func estimateInputTokens(_ request: ChatRequest) -> Int {
    var chars = 0
    var overhead = 3
    for m in request.messages {
      chars += m.content.utf8.count
      overhead += 4
      for t in m.toolCalls { chars += t.name.utf8.count + t.argumentsJSON.utf8.count }
    }
    for t in request.tools {
      chars += t.name.utf8.count + t.description.utf8.count + t.parametersJSONSchema.utf8.count
      overhead += 8
    }
    return overhead + (chars * 2 + 6) / 7
  }

  /// Tokens of a piece of text (same heuristic).
  public static func estimateTokens(_ text: String) -> Int { (text.utf8.count * 2 + 6) / 7 }
}
