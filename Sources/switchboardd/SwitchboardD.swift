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
    discussion: "SIGTERM/SIGINT drain in-flight calls and remove the socket; SIGHUP reloads the config file.")

  @Option(name: .long, help: "The YAML config file.")
  var config: String

  @Option(name: .long, help: "Socket path (overrides listen.socket).")
  var socket: String?

  @Option(name: .customLong("log-format"), help: "logfmt or json (overrides logging.format).")
  var logFormat: String?

  @Option(name: .customLong("http-listen"), help: "host:port of the OpenAI-compatible HTTP endpoint (overrides http.listen; port 0 = any free port, logged).")
  var httpListen: String?

  func run() async throws {
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
}

