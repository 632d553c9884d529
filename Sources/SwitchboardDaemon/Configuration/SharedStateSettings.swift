import SwitchboardFleet

/// `shared_state:` as written in the file: the fleet configuration plus where its
/// password comes from (read when the daemon starts, never stored in the file).
public struct SharedStateSettings: Sendable, Hashable {
  /// The fleet configuration (connection without the password until ``resolvePassword(environment:)``).
  public var fleet: SharedStateConfiguration
  /// `postgres.password_env`: the environment variable holding the password.
  public var passwordEnv: String?
  /// `postgres.password_file`: a file whose first line is the password.
  public var passwordFile: String?

  /// Creates settings.
  public init(fleet: SharedStateConfiguration, passwordEnv: String? = nil, passwordFile: String? = nil) {
    self.fleet = fleet; self.passwordEnv = passwordEnv; self.passwordFile = passwordFile
  }
}
