import Foundation

/// A throwaway PostgreSQL server for tests: `initdb` into a temp directory, a
/// random free loopback port, its unix socket in the same directory, a role with a
/// password (scram-sha-256 over TCP) and a database; ``stop()`` removes it all.
/// As root the server runs as the `postgres` user (PostgreSQL refuses root).
///
/// Needs Debian's `postgresql` package (`.ci/run` and `scripts/test.sh` install
/// it). ``unavailableReason`` says why no server can be started here, so suites
/// can be skipped visibly (`.enabled(if: PostgresTestServer.isAvailable)`).
public final class PostgresTestServer: @unchecked Sendable {
  /// The data and socket directory.
  public let dir: String
  /// The TCP port on 127.0.0.1.
  public let port: Int
  /// The role tests connect as, its password and database.
  public let user = "switchboard", password: String, database = "switchboard"
  private let bin: String
  private var running = false

  /// `postgresql://switchboard@127.0.0.1:PORT/switchboard?sslmode=disable` (the password goes separately).
  public var url: String { "postgresql://\(user)@127.0.0.1:\(port)/\(database)?sslmode=disable" }

  /// The directory of `initdb`, `pg_ctl` and `psql`, when installed.
  public static var binDirectory: String? {
    let root = "/usr/lib/postgresql"
    let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
    for v in versions.reversed() where FileManager.default.isExecutableFile(atPath: "\(root)/\(v)/bin/initdb") {
      return "\(root)/\(v)/bin"
    }
    return nil
  }

  /// Why no server can be started here; nil when one can.
  public static let unavailableReason: String? = {
    guard binDirectory != nil else { return "PostgreSQL is not installed (apt-get install -y postgresql): fleet tests skipped" }
    if getuid() == 0 {
      guard getpwnam("postgres") != nil else { return "running as root and no 'postgres' user to run the server as: fleet tests skipped" }
      guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") || FileManager.default.isExecutableFile(atPath: "/sbin/runuser") else {
        return "running as root without runuser: fleet tests skipped"
      }
    }
    return nil
  }()

  /// Whether a server can be started (prints the reason once when not).
  public static let isAvailable: Bool = {
    if let r = unavailableReason {
      FileHandle.standardError.write(Data("SKIP: \(r)\n".utf8))
      return false
    }
    return true
  }()

  /// Starts a fresh server (about 1-3 s).
  public init() throws {
    guard let bin = Self.binDirectory else { throw Failure(Self.unavailableReason ?? "no PostgreSQL") }
    self.bin = bin
    dir = NSTemporaryDirectory() + "sbpg-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    password = "pw-\(UUID().uuidString.prefix(12))"
    port = try Self.freePort()
    if getuid() == 0 {
      _ = try Self.run("/bin/chown", ["postgres:postgres", dir])
      _ = try Self.run("/bin/chmod", ["700", dir])
    }
    try asServer("\(bin)/initdb", ["-D", dir + "/data", "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
    let hba = """
      local all all trust
      host all postgres 127.0.0.1/32 reject
      host all all 127.0.0.1/32 scram-sha-256
      """
    try asServer("/bin/sh", ["-c", "printf '%s\\n' \"$0\" > \"$1\"", hba, dir + "/data/pg_hba.conf"])
    try start()
    try psql("CREATE ROLE \(user) LOGIN PASSWORD '\(password)'")
    try psql("CREATE DATABASE \(database) OWNER \(user)")
  }

  /// Starts (or restarts after ``stop(mode:)``) the server on the same port and data.
  public func start() throws {
    let opts = "-p \(port) -k \(dir) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    try asServer("\(bin)/pg_ctl", ["-D", dir + "/data", "-o", opts, "-l", dir + "/server.log", "-w", "-t", "30", "start"])
    running = true
  }

  /// Stops the server (`immediate`: like a crash; `fast`: a clean shutdown).
  public func stop(mode: String = "immediate") throws {
    guard running else { return }
    running = false
    try asServer("\(bin)/pg_ctl", ["-D", dir + "/data", "-m", mode, "-w", "-t", "30", "stop"])
  }

  /// Runs SQL as the superuser over the unix socket; returns psql's output (unaligned, tuples only).
  @discardableResult
  public func psql(_ sql: String, database: String = "postgres") throws -> String {
    try asServer("\(bin)/psql", ["-h", dir, "-p", "\(port)", "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-Atq", "-c", sql])
  }

  /// Stops the server and deletes its directory.
  public func remove() {
    try? stop()
    try? FileManager.default.removeItem(atPath: dir)
  }

  deinit { remove() }

  @discardableResult
  private func asServer(_ exe: String, _ args: [String]) throws -> String {
    if getuid() == 0 { return try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", exe] + args) }
    return try Self.run(exe, args)
  }

  /// Runs a command to its end (posix_spawn + waitpid); throws with its output
  /// when it fails. Not Foundation's `Process`: `pg_ctl start` leaves the server
  /// holding the descriptors it inherited, and `Process` then never sees the exit.
  static func run(_ exe: String, _ args: [String]) throws -> String {
    let outPath = NSTemporaryDirectory() + "sbpg-out-\(UUID().uuidString.prefix(8))"
    defer { unlink(outPath) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o666)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv: [UnsafeMutablePointer<CChar>?] = ([exe] + args).map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, exe, &actions, nil, argv, environ)
    guard rc == 0 else { throw Failure("cannot run \((exe as NSString).lastPathComponent): errno \(rc)") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
    let exited = (status & 0x7f) == 0, code = (status >> 8) & 0xff
    guard exited && code == 0 else { throw Failure("\((exe as NSString).lastPathComponent) failed (\(status)): \(text)") }
    return text.trimmingCharacters(in: .whitespacesAndNewlines)
  }

  /// A port the kernel just handed out on 127.0.0.1 (closed again for the server to take).
  static func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Failure("socket() failed") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard ok == 0 else { throw Failure("bind() failed") }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
  }

  /// A server that could not be started, with the tool's output.
  public struct Failure: Error, CustomStringConvertible {
    /// What failed.
    public var description: String
    init(_ d: String) { description = d }
  }
}
