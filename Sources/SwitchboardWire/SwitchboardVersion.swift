/// The version of this build.
public enum SwitchboardVersion {
  /// Semantic version string.
  public static let current = "0.1.0"
}
