import Foundation
import Yams

/// One problem in a config file, with the key path and line it is at.
public struct ConfigIssue: Sendable, Hashable, CustomStringConvertible {
  /// e.g. `routes.payments.candidates[1]`.
  public var path: String
  /// 1-based line, when known.
  public var line: Int?
  public var message: String
  public var description: String { "\(path)\(line.map { " (line \($0))" } ?? ""): \(message)" }
}

/// A config file that failed validation: every issue found, not just the first.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
  public var issues: [ConfigIssue]
  public var description: String { issues.map(\.description).joined(separator: "\n") }
}

/// Walks a YAML node tree, collecting issues with key paths instead of stopping at the first.
final class ConfigReader {
  var issues: [ConfigIssue] = []

  func issue(_ path: String, _ node: Node?, _ message: String) {
    issues.append(ConfigIssue(path: path.isEmpty ? "(root)" : path, line: node?.mark.map { $0.line }, message: message))
  }

  static func child(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

  /// The mapping at `node` as ordered (key, value) pairs; unknown keys are issues.
  func mapping(_ node: Node?, _ path: String, allowed: Set<String>? = nil) -> [(String, Node)] {
    guard let node else { return [] }
    if node.null != nil { return [] }
    guard let m = node.mapping else { issue(path, node, "expected a mapping"); return [] }
    var out: [(String, Node)] = []
    for (k, v) in m {
      guard let key = k.string else { issue(path, k, "keys must be strings"); continue }
      if let allowed, !allowed.contains(key) {
        let hint = allowed.sorted().filter { $0.hasPrefix(String(key.prefix(2))) }.first.map { " (did you mean '\($0)'?)" } ?? ""
        issue(Self.child(path, key), k, "unknown key\(hint)")
        continue
      }
      out.append((key, v))
    }
    return out
  }

  func dict(_ node: Node?, _ path: String, allowed: Set<String>) -> [String: Node] {
    Dictionary(mapping(node, path, allowed: allowed), uniquingKeysWith: { a, _ in a })
  }

  func string(_ node: Node?, _ path: String) -> String? {
    guard let node, node.null == nil else { return nil }
    guard node.scalar != nil, let s = node.string else { issue(path, node, "expected a string"); return nil }
    return s
  }

  // Messages never repeat the value found (it may be a secret pasted in the
  // wrong place); they name the key path, the line and what was expected.

  func int(_ node: Node?, _ path: String, min: Int? = nil, max: Int? = nil) -> Int? {
    guard let node, node.null == nil else { return nil }
    guard node.scalar != nil, let v = node.int else { issue(path, node, "expected an integer"); return nil }
    if let min, v < min { issue(path, node, "must be at least \(min)"); return nil }
    if let max, v > max { issue(path, node, "must be at most \(max)"); return nil }
    return v
  }

  func double(_ node: Node?, _ path: String, min: Double? = nil, max: Double? = nil) -> Double? {
    guard let node, node.null == nil else { return nil }
    guard node.scalar != nil, let v = node.float ?? node.int.map(Double.init), v.isFinite else { issue(path, node, "expected a number"); return nil }
    if let min, v < min { issue(path, node, "must be at least \(min)"); return nil }
    if let max, v > max { issue(path, node, "must be at most \(max)"); return nil }
    return v
  }

  /// A uid or gid: 0 ... 2^32 - 2 (2^32 - 1 is "no id").
  func id(_ node: Node?, _ path: String) -> UInt32? {
    int(node, path, min: 0, max: Int(UInt32.max) - 1).map { UInt32($0) }
  }

  func bool(_ node: Node?, _ path: String) -> Bool? {
    guard let node, node.null == nil else { return nil }
    guard let v = node.bool else { issue(path, node, "expected true or false"); return nil }
    return v
  }

  /// The longest duration any `*_ms` key takes: one day.
  static let maxMillis = 86_400_000

  /// A duration in milliseconds; `min` 1 for timeouts (a zero timeout fails every request).
  func millis(_ node: Node?, _ path: String, min: Int = 1, max: Int = ConfigReader.maxMillis) -> Duration? {
    int(node, path, min: min, max: max).map { .milliseconds($0) }
  }

  func list(_ node: Node?, _ path: String) -> [(String, Node)] {
    guard let node, node.null == nil else { return [] }
    guard let s = node.sequence else { issue(path, node, "expected a list"); return [] }
    return s.enumerated().map { ("\(path)[\($0.offset)]", $0.element) }
  }

  func stringList(_ node: Node?, _ path: String) -> [String] {
    list(node, path).compactMap { string($0.1, $0.0) }
  }

  func oneOf<T: RawRepresentable>(_ node: Node?, _ path: String, _ type: T.Type) -> T? where T.RawValue == String, T: CaseIterable {
    guard let s = string(node, path) else { return nil }
    guard let v = T(rawValue: s) else {
      issue(path, node, "not one of: " + T.allCases.map(\.rawValue).joined(separator: ", "))
      return nil
    }
    return v
  }
}
