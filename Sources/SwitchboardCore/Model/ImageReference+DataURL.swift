extension ImageReference {
  /// The parts of a `data:<media type>;base64,<payload>` URL; nil for any other URL
  /// (or a data URL that is not base64).
  public var base64DataURL: (mediaType: String, payload: Substring)? {
    guard url.hasPrefix("data:"), let comma = url.firstIndex(of: ",") else { return nil }
    let header = url[url.index(url.startIndex, offsetBy: 5)..<comma]
    guard header.hasSuffix(";base64") else { return nil }
    return (String(header.dropLast(";base64".count)).lowercased(), url[url.index(after: comma)...])
  }
}
