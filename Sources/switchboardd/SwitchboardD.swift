import ArgumentParser
import Foundation
import SwitchboardDaemon

/// `switchboardd --config FILE`: the Switchboard sidecar daemon.
@main
struct SwitchboardD: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "switchboardd",
    abstract: "The Switchboard sidecar: routes LLM completions over a Unix socket.",
    discussion: "SIGTERM/SIGINT drain in-flight calls and remove the socket; SIGHUP reloads the config file.")

  @Option(name: .long, help: "The YAML config file.")
  var config: String

  @Option(name: .long, help: "Socket path (overrides listen.socket).")
  var socket: String?

  @Option(name: .customLong("log-format"), help: "logfmt or json (overrides logging.format).")
  var logFormat: String?

  func run() async throws {
    do {
      try await SwitchboardDaemonMain.run(configPath: config, socketOverride: socket, logFormat: logFormat)
    } catch let e as ConfigError {
      FileHandle.standardError.write(Data("switchboardd: invalid config \(config):\n\(e.description)\n".utf8))
      throw ExitCode(2)
    } catch {
      FileHandle.standardError.write(Data("switchboardd: \(error)\n".utf8))
      throw ExitCode(1)
    }
  }
}

