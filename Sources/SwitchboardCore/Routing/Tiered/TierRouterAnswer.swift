import Foundation

/// Parses what the router model answered: one JSON object
/// `{"tier": "…", "reason": "…"}` (a Markdown code fence around it is tolerated).
/// Pure. Whatever the model says — a tier that does not exist, a tier outside the
/// router's `choices`, a huge answer, text around the object — it either names
/// one of the allowed tiers or is `invalid`; nothing else leaves this function.
public enum TierRouterAnswer {
  /// Answers longer than this (UTF-8 bytes) are invalid without being parsed.
  public static let maxAnswerBytes = 2_048
  /// The reason kept for the decision event, in characters.
  public static let maxReasonCharacters = 200

  /// A parsed answer: an allowed tier (spelled as declared) and the model's reason (sanitised).
  public struct Parsed: Sendable, Hashable {
    public var tier: String
    public var reason: String
  }

  /// Why an answer was not usable (a fixed message, never the answer's text).
  public struct Invalid: Error, Sendable, Hashable {
    public var message: String
  }

  private struct Shape: Decodable {
    var tier: String
    var reason: String?
  }

  /// Parses `text`; `allowed` are the tier names the router may answer.
  public static func parse(_ text: String, allowed: [String]) -> Result<Parsed, Invalid> {
    guard text.utf8.count <= maxAnswerBytes else {
      return .failure(Invalid(message: "answer longer than \(maxAnswerBytes) bytes"))
    }
    var body = text.trimmingCharacters(in: .whitespacesAndNewlines)
    if body.hasPrefix("```") {
      // ```json\n{...}\n```
      body = String(body.drop { $0 != "\n" }).trimmingCharacters(in: .whitespacesAndNewlines)
      if body.hasSuffix("```") { body = String(body.dropLast(3)).trimmingCharacters(in: .whitespacesAndNewlines) }
    }
    guard body.hasPrefix("{"), body.hasSuffix("}") else {
      return .failure(Invalid(message: "answer is not a JSON object"))
    }
    guard let shape = try? JSONDecoder().decode(Shape.self, from: Data(body.utf8)) else {
      return .failure(Invalid(message: "answer is not a JSON object with a string \"tier\""))
    }
    let answered = shape.tier.trimmingCharacters(in: .whitespaces)
    guard let tier = allowed.first(where: { $0 == answered }) ?? allowed.first(where: { $0.lowercased() == answered.lowercased() }) else {
      return .failure(Invalid(message: "answer names a tier that is not one of the router's choices"))
    }
    return .success(Parsed(tier: tier, reason: sanitise(shape.reason ?? "")))
  }

  /// `text` with control characters (terminal escapes, newlines) replaced by
  /// spaces and cut to ``maxReasonCharacters``: model output shown by `explain`.
  public static func sanitise(_ text: String) -> String {
    var out = ""
    for ch in text.prefix(maxReasonCharacters) {
      out.append(ch.unicodeScalars.contains { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format } ? " " : ch)
    }
    return out.trimmingCharacters(in: .whitespaces)
  }
}
