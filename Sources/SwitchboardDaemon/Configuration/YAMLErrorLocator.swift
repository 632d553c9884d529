import Foundation
import Yams

/// Turns a YAML syntax error into a `ConfigIssue` that names the key path and
/// line but never the document or a value: Yams' own error descriptions embed
/// the whole text (secrets included) and the offending scalar.
enum YAMLErrorLocator {
  /// The issue for `error`, thrown while composing `text`.
  static func issue(for error: any Error, in text: String) -> ConfigIssue {
    guard let y = error as? YamlError else {
      return ConfigIssue(path: "(yaml)", line: nil, message: "not valid YAML")
    }
    let line: Int?
    let problem: String
    switch y {
    case .scanner(let context, let p, let mark, _), .parser(let context, let p, let mark, _), .composer(let context, let p, let mark, _):
      line = mark.line
      problem = [context?.text, p].compactMap { $0 }.filter { !$0.isEmpty }.map(scrub).joined(separator: ": ")
    case .reader(_, let offset, _, _):
      line = offset.map { lineNumber(ofUTF8Offset: $0, in: text) }
      problem = "unreadable bytes (the file must be UTF-8 text)"
    case .duplicatedKeysInMapping(let duplicates, let context):
      line = context.mark.line > 0 ? context.mark.line : nil
      let keys = duplicates.filter(isPlainKey).map { "'\($0)'" }
      problem = keys.isEmpty ? "duplicate key in a mapping" : "duplicate key \(keys.joined(separator: ", ")) in a mapping"
    default:
      line = nil
      problem = "not valid YAML"
    }
    let path = line.map { keyPath(at: $0, in: text) } ?? ""
    return ConfigIssue(path: path.isEmpty ? "(yaml)" : path, line: line, message: "invalid YAML: \(problem)")
  }

  /// libyaml's problem and context texts are fixed phrases, except that some quote
  /// the offending character or tag; anything quoted is dropped.
  static func scrub(_ s: String) -> String {
    var out = ""
    var quoted = false
    for ch in s {
      if ch == "'" || ch == "\"" || ch == "`" { quoted.toggle(); if quoted { out += "…" }; continue }
      if !quoted { out.append(ch) }
    }
    return out.trimmingCharacters(in: .whitespaces)
  }

  /// A key that is an identifier-like config key (never a value).
  static func isPlainKey(_ s: String) -> Bool {
    !s.isEmpty && s.count <= 64 && s.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "/" || $0 == "." }
  }

  static func lineNumber(ofUTF8Offset offset: Int, in text: String) -> Int {
    1 + text.utf8.prefix(offset).reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
  }

  /// The block-style key path that encloses `line` (1-based), from indentation:
  /// e.g. `providers.openai.keys` for a line inside that list. Only key names are
  /// taken from the text, and only plain ones; flow-style content adds nothing.
  static func keyPath(at line: Int, in text: String) -> String {
    var stack: [(indent: Int, key: String)] = []
    for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      if i + 1 > line { break }
      var indent = 0
      var rest = Substring(raw)
      while let f = rest.first, f == " " || f == "-" {
        indent += 1
        rest = rest.dropFirst()
      }
      if rest.isEmpty || rest.hasPrefix("#") { continue }
      guard let colon = rest.firstIndex(of: ":") else { continue }
      let key = String(rest[..<colon]).trimmingCharacters(in: .whitespaces)
      guard isPlainKey(key) else { continue }
      while let last = stack.last, last.indent >= indent { stack.removeLast() }
      stack.append((indent, key))
    }
    return stack.map(\.key).joined(separator: ".")
  }
}
