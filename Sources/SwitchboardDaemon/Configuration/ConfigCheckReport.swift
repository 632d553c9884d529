import SwitchboardCore

/// What `switchboard config check` found.
public struct ConfigCheckReport: Sendable {
  /// The configuration, when it is valid.
  public var configuration: DaemonConfiguration?
  /// Problems that make the daemon refuse the file.
  public var errors: [ConfigIssue] = []
  /// Things that will run but probably not as meant (unset key variables,
  /// unpriced models under a cost cap).
  public var warnings: [ConfigIssue] = []
}
