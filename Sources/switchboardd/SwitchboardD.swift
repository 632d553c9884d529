import ArgumentParser
import Foundation
import SwitchboardDaemon
import SwitchboardHTTP

/// `switchboardd --config FILE`: the Switchboard sidecar daemon.
@main
struct SwitchboardD: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "switchboardd",
    abstract: "The Switchboard sidecar: routes LLM completions over a Unix socket.",
    discussion: "SIGTERM/SIGINT drain in-flight calls and remove the socket; SIGHUP reloads the config file.",
    version: SwitchboardDaemonMain.version)

  @Option(name: .long, help: "The YAML config file.")
  var config: String

  @Option(name: .long, help: "Socket path (overrides listen.socket).")
  var socket: String?

  @Option(name: .customLong("log-format"), help: "logfmt or json (overrides logging.format).")
  var logFormat: String?

  @Option(name: .customLong("http-listen"), help: "host:port of the OpenAI-compatible HTTP endpoint (overrides http.listen; port 0 = any free port, logged).")
  var httpListen: String?

  /// Before any NIO use or task: as many event loops as CPUs this process may use,
  /// and where Swift concurrency runs (`SWITCHBOARD_EXECUTOR`; docs/operations.md).
  /// Then what `AsyncParsableCommand.main()` does.
  static func main() async {
    if ConcurrencyExecutor.chosen() == .nio { EventLoopSizing.matchCPUAffinity() }
    ConcurrencyExecutor.installFromEnvironment()
    do {
      let command = try parse()
      try await command.run()
    } catch {
      exit(withError: error)
    }
  }

  func run() async throws {
    Self.limitMallocArenas()
    let httpListen = self.httpListen
    do {
      try await SwitchboardDaemonMain.run(configPath: config, socketOverride: socket, logFormat: logFormat) { runtime in
        guard var http = runtime.configuration.http ?? httpListen.map({ _ in HTTPSettings() }) else { return [] }
        if let httpListen {
          guard let hp = HTTPSettings.splitHostPort(httpListen), http.allowNonLoopback || HTTPSettings.isLoopback(host: hp.host) else {
            throw ValidationError("--http-listen: expected a loopback host:port (or http.allow_non_loopback in the config)")
          }
          http.listen = httpListen
        }
        return [try SwitchboardHTTPService(runtime: runtime, settings: http)]
      }
    } catch let e as ConfigError {
      FileHandle.standardError.write(Data("switchboardd: invalid config \(config):\n\(e.description)\n".utf8))
      throw ExitCode(2)
    } catch {
      FileHandle.standardError.write(Data("switchboardd: \(error)\n".utf8))
      throw ExitCode(1)
    }
  }

  /// glibc gives every thread that allocates under contention its own arena (up to
  /// 8 per core). Decisions allocated on one concurrency thread and freed on another
  /// then fragment those arenas: over 1,000,000 requests RSS crept up by ~10 MB in
  /// steps with the bounded audit ring, and stayed flat with two arenas
  /// (bench/memory.sh). `MALLOC_ARENA_MAX` in the environment still wins.
  static func limitMallocArenas() {
    #if os(Linux)
    guard ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil else { return }
    let mArenaMax: Int32 = -8  // M_ARENA_MAX in <malloc.h>
    _ = sb_mallopt(mArenaMax, Int32(max(2, ProcessInfo.processInfo.activeProcessorCount)))
    #endif
  }
}

#if os(Linux)
@_silgen_name("mallopt")
private func sb_mallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

