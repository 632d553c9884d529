#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The daemon process's resource use, for the `process_*` families (the names the
/// Prometheus client libraries use, so stock dashboards work). Read from `/proc` at
/// scrape time, never on the request path.
public struct ProcessStatistics: Sendable, Hashable {
  /// Resident set size, bytes.
  public var residentMemoryBytes: Double
  /// Virtual memory size, bytes.
  public var virtualMemoryBytes: Double
  /// User + system CPU time, seconds.
  public var cpuSeconds: Double
  /// Process start, seconds since the Unix epoch.
  public var startTimeSeconds: Double
  /// Open file descriptors.
  public var openFDs: Double
  /// The soft limit on open file descriptors.
  public var maxFDs: Double

  /// Creates statistics from their values.
  public init(residentMemoryBytes: Double, virtualMemoryBytes: Double, cpuSeconds: Double, startTimeSeconds: Double,
              openFDs: Double, maxFDs: Double) {
    self.residentMemoryBytes = residentMemoryBytes; self.virtualMemoryBytes = virtualMemoryBytes
    self.cpuSeconds = cpuSeconds; self.startTimeSeconds = startTimeSeconds; self.openFDs = openFDs; self.maxFDs = maxFDs
  }

  /// This process's statistics now, or nil where `/proc` is not available (not Linux).
  public static func current() -> ProcessStatistics? {
    #if os(Linux)
    guard let stat = readFile("/proc/self/stat"), let procStat = readFile("/proc/stat"),
          let bootTime = bootTime(procStat: procStat) else { return nil }
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    let page = Double(sysconf(Int32(_SC_PAGESIZE)))
    guard var s = parse(stat: stat, bootTime: bootTime, ticksPerSecond: ticks > 0 ? ticks : 100, pageSize: page > 0 ? page : 4096)
    else { return nil }
    s.openFDs = Double(openFileDescriptors() ?? 0)
    s.maxFDs = readFile("/proc/self/limits").flatMap(maxOpenFiles(limits:)) ?? 0
    return s
    #else
    return nil
    #endif
  }

  /// Parses `/proc/[pid]/stat` (see proc(5)); open and max fds are left 0. The
  /// command name (field 2) may hold spaces and parentheses, so fields are counted
  /// from its last `)`.
  static func parse(stat: String, bootTime: Double, ticksPerSecond: Double, pageSize: Double) -> ProcessStatistics? {
    guard let close = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
    // fields[0] is field 3 (state): field N is fields[N - 3].
    func field(_ n: Int) -> Double? { fields.count > n - 3 ? Double(fields[n - 3].trimmingNewline) : nil }
    guard let utime = field(14), let stime = field(15), let start = field(22), let vsize = field(23), let rss = field(24)
    else { return nil }
    return ProcessStatistics(residentMemoryBytes: rss * pageSize, virtualMemoryBytes: vsize,
                             cpuSeconds: (utime + stime) / ticksPerSecond,
                             startTimeSeconds: bootTime + start / ticksPerSecond, openFDs: 0, maxFDs: 0)
  }

  /// The `btime` line of `/proc/stat`: boot time, seconds since the epoch.
  static func bootTime(procStat: String) -> Double? {
    for line in procStat.split(separator: "\n") where line.hasPrefix("btime ") {
      return Double(line.dropFirst(6).trimmingNewline)
    }
    return nil
  }

  /// The soft limit of the `Max open files` line of `/proc/self/limits`.
  static func maxOpenFiles(limits: String) -> Double? {
    for line in limits.split(separator: "\n") where line.hasPrefix("Max open files") {
      let parts = line.dropFirst("Max open files".count).split(separator: " ", omittingEmptySubsequences: true)
      guard let soft = parts.first else { return nil }
      return soft == "unlimited" ? .infinity : Double(soft)
    }
    return nil
  }

  #if os(Linux)
  /// Entries of `/proc/self/fd`, less the descriptor the listing itself holds.
  private static func openFileDescriptors() -> Int? {
    guard let dir = opendir("/proc/self/fd") else { return nil }
    defer { closedir(dir) }
    var n = 0
    while let entry = readdir(dir) {
      let first = withUnsafeBytes(of: entry.pointee.d_name) { $0.first ?? 0 }
      if first != UInt8(ascii: ".") { n += 1 }
    }
    return max(0, n - 1)
  }

  /// Reads a whole (procfs) file; procfs reports size 0, so this reads to EOF.
  private static func readFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while bytes.count < 1 << 20 {
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { break }
      bytes.append(contentsOf: chunk[0..<n])
    }
    return String(decoding: bytes, as: UTF8.self)
  }
  #endif
}

extension Substring {
  fileprivate var trimmingNewline: Substring {
    var s = self
    while let last = s.last, last == "\n" || last == " " { s = s.dropLast() }
    return s
  }
}

extension SwitchboardMetrics {
  /// The compiler version the daemon was built with (`switchboard_build_info{swift_version}`).
  static var swiftVersion: String {
    #if swift(>=6.4)
    return "6.4+"
    #elseif swift(>=6.3)
    return "6.3"
    #elseif swift(>=6.2)
    return "6.2"
    #else
    return "6.1"
    #endif
  }

  /// The operating system (`switchboard_build_info{os}`).
  static var osName: String {
    #if os(Linux)
    return "linux"
    #elseif os(macOS)
    return "macos"
    #else
    return "other"
    #endif
  }
}
