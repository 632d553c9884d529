import Foundation
import Synchronization
import NIOCore
import NIOPosix

/// Where a daemon process runs Swift concurrency's jobs, chosen at start by
/// `SWITCHBOARD_EXECUTOR` (see docs/operations.md).
///
/// - `nio` (the standard): NIO's shared event loops (`MultiThreadedEventLoopGroup.singleton`, which
///   the socket server, the HTTP endpoint and the provider clients already use)
///   become the global executor, so a task woken by a channel's event runs on that
///   channel's loop instead of being handed to the cooperative pool's threads (a
///   futex wake and a context switch per crossing, two or more per call).
/// - `cooperative`: Swift's cooperative pool (the escape hatch, e.g. for a custom
///   strategy that blocks its thread, which on `nio` would stall an event loop).
///
/// Must be installed from the process's main function before any task starts;
/// in-process users (tests, the CLI's demo) never install it.
public enum ConcurrencyExecutor: String, Sendable {
  case nio
  case cooperative

  /// The environment variable that chooses.
  public static let environmentVariable = "SWITCHBOARD_EXECUTOR"

  /// The choice when the variable is unset.
  public static let standard: ConcurrencyExecutor = .nio

  /// The choice in `environment`; nil when the variable holds something else.
  public static func chosen(in environment: [String: String] = ProcessInfo.processInfo.environment) -> ConcurrencyExecutor? {
    guard let raw = environment[environmentVariable] else { return standard }
    return ConcurrencyExecutor(rawValue: raw.lowercased())
  }

  /// Installs the chosen executor (an unknown value: the standard one, with a
  /// warning on stderr). Call once, first thing in `main`. Returns what runs jobs.
  @discardableResult
  public static func installFromEnvironment() -> ConcurrencyExecutor {
    var choice = chosen()
    if choice == nil {
      FileHandle.standardError.write(Data("switchboardd: \(environmentVariable) must be nio or cooperative; using \(standard.rawValue)\n".utf8))
      choice = standard
    }
    guard choice == .nio else { return .cooperative }
    guard NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor() else { return .cooperative }
    nioInstalled.store(true, ordering: .releasing)
    return .nio
  }

  private static let nioInstalled = Atomic<Bool>(false)

  /// What runs this process's jobs (the daemon logs it at start): `nio` once
  /// `installFromEnvironment()` installed it, else `cooperative`.
  public static var running: ConcurrencyExecutor { nioInstalled.load(ordering: .acquiring) ? .nio : .cooperative }
}
