/// An API key. Every printed form (description, debugDescription, string
/// interpolation, dump, Codable) is its fingerprint, so no log line, error,
/// metric label or audit row can hold the key itself.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
  CustomReflectable, Codable
{
  private let value: String
  /// `sha256:` plus the first 12 hex digits of the key's SHA-256.
  public let fingerprint: String

  /// Wraps a key.
  public init(_ value: String) {
    self.value = value
    self.fingerprint = "sha256:" + String(SHA256.hex(SHA256.hash(Array(value.utf8))).prefix(12))
  }

  /// The key itself, for the one place that needs it: the outgoing HTTP header.
  public func reveal() -> String { value }

  /// Whether the key is empty.
  public var isEmpty: Bool { value.isEmpty }

  public var description: String { fingerprint }
  public var debugDescription: String { "Secret(\(fingerprint))" }
  public var customMirror: Mirror { Mirror(self, children: ["fingerprint": fingerprint]) }

  /// Decoding a secret is not supported from untrusted data; encodes as the fingerprint.
  public init(from decoder: any Decoder) throws {
    self.init(try decoder.singleValueContainer().decode(String.self))
  }
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(fingerprint)
  }

  public static func == (a: Secret, b: Secret) -> Bool { a.value == b.value }
  public func hash(into hasher: inout Hasher) { hasher.combine(value) }
}
