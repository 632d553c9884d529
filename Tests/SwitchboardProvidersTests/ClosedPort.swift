#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A loopback TCP port that refuses connections for as long as this value lives:
/// a socket bound to it that never listens. Unlike "start a server, stop it, reuse
/// its port", nobody else can take the port meanwhile (another test's server, or a
/// client's ephemeral port that would self-connect), so a connect to it is refused
/// every time, however many tests run in parallel.
final class ClosedPort {
  let port: Int
  private let fd: Int32

  init() throws {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Failure() }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { close(fd); throw Failure() }
    var out = sockaddr_in()
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &out) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    guard named == 0 else { close(fd); throw Failure() }
    self.fd = fd
    port = Int(UInt16(bigEndian: out.sin_port))
  }

  /// `http://127.0.0.1:PORT/v1`
  var baseURL: String { "http://127.0.0.1:\(port)/v1" }

  deinit { close(fd) }

  struct Failure: Error {}
}
