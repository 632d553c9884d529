#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore

/// The daemon's socket could not be connected: a human message with a hint,
/// never an internal API name.
public struct SwitchboardConnectError: Error, CustomStringConvertible, Sendable {
  /// The socket path that was tried.
  public var socketPath: String
  /// The OS error number, when the failure had one.
  public var errnoCode: CInt?
  /// Creates the error for a failed connect to `socketPath`.
  public init(socketPath: String, underlying: any Error) {
    self.socketPath = socketPath
    self.errnoCode = (underlying as? IOError)?.errnoCode
  }

  static let hint = "is switchboardd running? pass --socket PATH or set SWITCHBOARD_SOCKET to its listen.socket"

  public var description: String {
    let why: String
    switch errnoCode {
    case ENOENT?: why = "no such socket (\(Self.hint))"
    case ECONNREFUSED?: why = "nothing is listening there, a stale socket file? (\(Self.hint))"
    case EACCES?, EPERM?:
      why = "permission denied (run as the daemon's user, or ask for your uid/gid in listen.allowed_uids / allowed_gids and the socket's group)"
    case let e?: why = "\(String(cString: strerror(e))) (\(Self.hint))"
    case nil: why = "the connection failed (\(Self.hint))"
    }
    return "cannot connect to \(socketPath): \(why)"
  }
}
