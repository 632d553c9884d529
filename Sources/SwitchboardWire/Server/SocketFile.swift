#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Preparing and removing the socket path.
public enum SocketFile {
  /// Why the socket path cannot be used.
  public struct Error: Swift.Error, CustomStringConvertible, Sendable {
    public var description: String
  }

  /// Makes `path` bindable: a stale socket left by a dead daemon is removed; a
  /// socket a live daemon answers on is not stolen; a non-socket file is left alone.
  public static func prepare(path: String) throws {
    var st = stat()
    guard lstat(path, &st) == 0 else { return }  // nothing there
    guard (st.st_mode & S_IFMT) == S_IFSOCK else {
      throw Error(description: "\(path) exists and is not a socket; refusing to replace it")
    }
    if isLive(path: path) {
      throw Error(description: "\(path) is in use by a running daemon; refusing to steal it")
    }
    guard unlink(path) == 0 || errno == ENOENT else {
      throw Error(description: "cannot remove stale socket \(path): \(String(cString: strerror(errno)))")
    }
  }

  /// Whether something accepts connections on `path`.
  public static func isLive(path: String) -> Bool {
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { return false }
    withUnsafeMutableBytes(of: &addr.sun_path) { raw in
      for (i, b) in bytes.enumerated() { raw[i] = b }
      raw[bytes.count] = 0
    }
    let rc = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
    return rc == 0
  }

  /// Sets the socket's file mode and (optionally) group.
  public static func applyPermissions(path: String, mode: UInt32, group: UInt32?) throws {
    if let group, chown(path, uid_t(bitPattern: -1), gid_t(group)) != 0 {
      throw Error(description: "cannot chgrp \(path) to \(group): \(String(cString: strerror(errno)))")
    }
    guard chmod(path, mode_t(mode)) == 0 else {
      throw Error(description: "cannot chmod \(path): \(String(cString: strerror(errno)))")
    }
  }

  /// Removes the socket file if it is (still) a socket.
  public static func remove(path: String) {
    var st = stat()
    if lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFSOCK { unlink(path) }
  }
}
