import ArgumentParser
import Foundation
import SwitchboardDaemon

/// A user-built Switchboard daemon: the stock daemon (the `SwitchboardDaemon`
/// library product) plus one custom strategy that routes may name as
/// `strategy: custom:cheapest_reliable`.
@main
struct ExampleStrategyDaemon: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "example-strategy-daemon",
    abstract: "switchboardd with the example custom strategy 'cheapest_reliable' registered.")

  @Option(name: .long, help: "The YAML config file.")
  var config: String

  @Option(name: .long, help: "Socket path (overrides listen.socket).")
  var socket: String?

  @Option(name: .long, help: "Success rate below which a candidate goes last.")
  var minReliability: Double = 0.5

  func run() async throws {
    var strategies = StrategyRegistry()
    let threshold = minReliability
    strategies.register("cheapest_reliable") { _ in CheapestReliableStrategy(minReliability: threshold) }
    do {
      try await SwitchboardDaemonMain.run(configPath: config, socketOverride: socket, logFormat: nil, strategies: strategies)
    } catch let e as ConfigError {
      FileHandle.standardError.write(Data("example-strategy-daemon: invalid config \(config):\n\(e.description)\n".utf8))
      throw ExitCode(2)
    }
  }
}
