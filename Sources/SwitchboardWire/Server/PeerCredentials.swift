#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore

/// Who is on the other end of a Unix socket, from SO_PEERCRED at accept time.
public struct PeerCredentials: Sendable, Hashable, CustomStringConvertible {
  public var pid: Int32
  public var uid: UInt32
  public var gid: UInt32
  /// Creates credentials.
  public init(pid: Int32, uid: UInt32, gid: UInt32) { self.pid = pid; self.uid = uid; self.gid = gid }
  public var description: String { "pid=\(pid) uid=\(uid) gid=\(gid)" }

  /// Reads SO_PEERCRED of an accepted Unix-socket channel.
  public static func read(from channel: any Channel) -> EventLoopFuture<PeerCredentials> {
    guard let provider = channel as? (any SocketOptionProvider) else {
      return channel.eventLoop.makeFailedFuture(ChannelError.operationUnsupported)
    }
    // struct ucred {pid_t pid; uid_t uid; gid_t gid;} (Glibc hides it behind _GNU_SOURCE).
    let f: EventLoopFuture<RawPeerCred> = provider.unsafeGetSocketOption(
      level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(17 /* SO_PEERCRED */))
    return f.map { PeerCredentials(pid: $0.pid, uid: $0.uid, gid: $0.gid) }
  }
}

/// Same layout as Linux `struct ucred`.
struct RawPeerCred: Sendable {
  var pid: Int32 = 0
  var uid: UInt32 = 0
  var gid: UInt32 = 0
}

/// Which peers may use the socket.
public struct SocketAccessPolicy: Sendable, Hashable {
  /// Allowed uids; empty = only the daemon's own uid.
  public var allowedUIDs: Set<UInt32>
  /// Peers whose primary gid is listed are allowed too.
  public var allowedGIDs: Set<UInt32>
  /// Creates a policy.
  public init(allowedUIDs: Set<UInt32> = [], allowedGIDs: Set<UInt32> = []) {
    self.allowedUIDs = allowedUIDs; self.allowedGIDs = allowedGIDs
  }
  /// Whether `peer` may connect.
  public func allows(_ peer: PeerCredentials) -> Bool {
    let uids = allowedUIDs.isEmpty ? [getuid()] : allowedUIDs
    return uids.contains(peer.uid) || allowedGIDs.contains(peer.gid)
  }
}
