import Foundation
import NIOCore

/// Sizes NIO's shared event loop group to the CPUs this process may run on.
///
/// NIO counts the machine's cores (or a cgroup quota) but not the CPU affinity
/// mask, so a daemon pinned to one core (`taskset -c 0`, `BENCH_PIN=1`) still got
/// one loop per core of the machine, and every hop between those loops was a
/// context switch on the one core. `NIO_SINGLETON_GROUP_LOOP_COUNT` still wins.
public enum EventLoopSizing {
  /// Sets the shared group's loop count to the affinity mask's CPU count when that
  /// is smaller than NIO's own count. Call first thing in `main`, before any NIO use.
  /// Returns the count set, or nil when NIO's default stands.
  @discardableResult
  public static func matchCPUAffinity(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
    #if os(Linux)
    guard environment["NIO_SINGLETON_GROUP_LOOP_COUNT"] == nil, let allowed = allowedCPUs(), allowed >= 1,
          allowed < System.coreCount else { return nil }
    NIOSingletons.groupLoopCountSuggestion = allowed
    return allowed
    #else
    return nil
    #endif
  }

  /// CPUs in this process's affinity mask (`sched_getaffinity`), nil if unreadable.
  public static func allowedCPUs() -> Int? {
    #if os(Linux)
    var mask = [UInt64](repeating: 0, count: 16)  // 1,024 CPUs, as glibc's cpu_set_t
    let rc = mask.withUnsafeMutableBytes { sb_sched_getaffinity(0, $0.count, $0.baseAddress!) }
    guard rc == 0 else { return nil }
    return mask.reduce(0) { $0 + $1.nonzeroBitCount }
    #else
    return nil
    #endif
  }
}

#if os(Linux)
@_silgen_name("sched_getaffinity")
private func sb_sched_getaffinity(_ pid: Int32, _ size: Int, _ mask: UnsafeMutableRawPointer) -> Int32
#endif
