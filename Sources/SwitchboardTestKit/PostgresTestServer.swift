import Foundation

/// A throwaway PostgreSQL server for tests: `initdb` into a temp directory, a
/// random free loopback port, its unix socket in the same directory, a role with a
/// password (scram-sha-256 over TCP) and a database; ``stop()`` removes it all.
/// As root the server runs as the `postgres` user (PostgreSQL refuses root).
///
/// The server dies with the process that owns it (by default the one that created
/// it): `pg_ctl` detaches the server, so a test process that crashes or is killed
/// would leave it running. A small watcher (a shell loop in its own session, so a
/// process-group kill does not take it down too) checks the owner twice a second and,
/// once it is gone, stops the server (`immediate`) and deletes its directory; after
/// ``remove()`` it finds the directory gone and exits.
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

  /// Starts a fresh server (about 1-3 s) that lives no longer than process `owner`
  /// (default: this process).
  public init(owner: pid_t = getpid()) throws {
    guard let bin = Self.binDirectory else { throw Failure(Self.unavailableReason ?? "no PostgreSQL") }
    self.bin = bin
    dir = NSTemporaryDirectory() + "sbpg-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    password = "pw-\(UUID().uuidString.prefix(12))"
    port = try Self.freePort()
    try Self.watch(owner: owner, dir: dir, pgCtl: "\(bin)/pg_ctl")
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

  /// ``init(owner:)`` off the concurrency pool: the blocking waits for `initdb` and
  /// `pg_ctl` take seconds on a loaded machine and do not belong on a pool thread.
  /// (Hygiene: measured on Linux, three pool threads blocked for 2 s did not slow the
  /// in-process daemons of other tests; the pool grows past blocked threads.)
  public static func make(owner: pid_t = getpid()) async throws -> PostgresTestServer {
    try await offPool { try PostgresTestServer(owner: owner) }
  }

  /// ``start()`` off the concurrency pool (see ``make(owner:)``).
  public func startOffPool() async throws { try await Self.offPool { try self.start() } }

  /// ``stop(mode:)`` off the concurrency pool (see ``make(owner:)``).
  public func stopOffPool(mode: String = "immediate") async throws { try await Self.offPool { try self.stop(mode: mode) } }

  /// ``psql(_:database:)`` off the concurrency pool (see ``make(owner:)``).
  @discardableResult
  public func psqlOffPool(_ sql: String, database: String = "postgres") async throws -> String {
    try await Self.offPool { try self.psql(sql, database: database) }
  }

  /// Runs a blocking `body` on a GCD thread, not on the concurrency pool.
  public static func offPool<T: Sendable>(_ body: @Sendable @escaping () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { c in
      DispatchQueue.global().async { c.resume(with: Result { try body() }) }
    }
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

  /// The server's process id while it runs (the first line of `postmaster.pid`).
  public var serverPID: pid_t? {
    guard let text = try? String(contentsOfFile: dir + "/data/postmaster.pid", encoding: .utf8),
      let first = text.split(separator: "\n").first else { return nil }
    return pid_t(first.trimmingCharacters(in: .whitespaces))
  }

  /// The watcher: while `owner` lives (same start time, not a zombie) and `dir`
  /// exists, it sleeps; when the owner is gone it stops the server and removes `dir`.
  /// Started through an intermediate shell that exits at once, so it is nobody's
  /// child here (no zombie) and, in a session of its own, outlives a group kill.
  static let watcherScript = #"""
    owner=$1 dir=$2 pgctl=$3
    stat() { sed 's/^.*) //' "/proc/$owner/stat" 2>/dev/null; }
    born=$(stat | cut -d' ' -f20)
    [ -n "$born" ] || born=gone
    while :; do
      s=$(stat)
      [ -n "$s" ] || break
      case "$s" in Z*|X*) break;; esac
      [ "$(echo "$s" | cut -d' ' -f20)" = "$born" ] || break
      [ -d "$dir" ] || exit 0
      sleep 0.5
    done
    [ -d "$dir" ] || exit 0
    if [ "$(id -u)" = 0 ]; then
      runuser -u postgres -- "$pgctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1
    else
      "$pgctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1
    fi
    rm -rf "$dir"
    """#

  static func watch(owner: pid_t, dir: String, pgCtl: String) throws {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(0x80))  // POSIX_SPAWN_SETSID (glibc >= 2.26), not exported to Swift
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    for fd: Int32 in [0, 1, 2] { posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0) }
    // The outer shell starts the watcher in the background and exits.
    let launcher = "trap '' HUP INT; (trap '' HUP INT; /bin/sh -c \"$0\" watcher \"$1\" \"$2\" \"$3\") & exit 0"
    let args = ["/bin/sh", "-c", launcher, watcherScript, "\(owner)", dir, pgCtl]
    let argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
    defer { for a in argv { free(a) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, environ)
    guard rc == 0 else { throw Failure("cannot start the server's watcher: errno \(rc)") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
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
