import ArgumentParser
import Foundation
import Logging
import SwiftProtobuf
import SwitchboardAudit
import SwitchboardClient
import SwitchboardCore
import SwitchboardDaemon
import SwitchboardWire

@main
struct Switchboard: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "switchboard",
    abstract: "Client and tools for the Switchboard LLM routing sidecar.",
    subcommands: [Demo.self, Complete.self, Explain.self, Decisions.self, Health.self, Keys.self, Reload.self,
                  Simulate.self, Config.self, Bench.self])
}

/// Options shared by commands that talk to a daemon.
struct SocketOptions: ParsableArguments {
  @Option(name: .long, help: "The daemon's socket (default: $SWITCHBOARD_SOCKET or /run/switchboard/switchboard.sock).")
  var socket: String = ProcessInfo.processInfo.environment["SWITCHBOARD_SOCKET"] ?? "/run/switchboard/switchboard.sock"

  func connect() async throws -> SwitchboardClient {
    do { return try await SwitchboardClient.connect(socketPath: socket) } catch {
      throw CLIError("cannot connect to \(socket): \(error)")
    }
  }
}

struct CLIError: Error, CustomStringConvertible {
  var description: String
  init(_ d: String) { description = d }
}

func fail(_ status: SwitchboardStatusError) -> ExitCode {
  FileHandle.standardError.write(Data("error: \(status.description)\n".utf8))
  return ExitCode(1)
}

func printJSON(_ message: any SwiftProtobuf.Message) throws {
  var opts = JSONEncodingOptions()
  opts.preserveProtoFieldNames = true
  print(try message.jsonString(options: opts))
}

// MARK: - complete

struct Complete: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Send a completion request and print the answer.")
  @OptionGroup var socket: SocketOptions
  @Option(help: "Route (a policy from the config).") var route: String?
  @Option(help: "provider/model instead of a route.") var model: String?
  @Option(help: "System prompt.") var system: String?
  @Option(name: .customLong("max-tokens")) var maxTokens: UInt32?
  @Option var temperature: Double?
  @Option var tenant: String?
  @Option(name: .customLong("max-cost"), help: "Worst-case cost cap in USD.") var maxCost: Double?
  @Flag(help: "Stream the answer as it arrives.") var stream = false
  @Flag(help: "Print the final response as JSON.") var json = false
  @Argument(help: "The prompt.") var prompt: String

  func run() async throws {
    var req = Switchboard_V1_CompletionRequest()
    if let route { req.route = route }
    if let model {
      guard let ref = CandidateRef(parsing: model) else { throw CLIError("--model takes provider/model") }
      req.provider = ref.provider; req.model = ref.model
    }
    if route == nil && model == nil { req.route = "default" }
    if let system { var m = Switchboard_V1_Message(); m.role = .system; m.content = system; req.messages.append(m) }
    var m = Switchboard_V1_Message(); m.role = .user; m.content = prompt; req.messages.append(m)
    if let maxTokens { req.optMaxTokens = .maxTokens(maxTokens) }
    if let temperature { req.optTemperature = .temperature(temperature) }
    if let tenant { req.tenant = tenant }
    if let maxCost { req.constraints.optMaxCostUsd = .maxCostUsd(maxCost) }
    let client = try await socket.connect()
    defer { Task { await client.close() } }
    do {
      if stream {
        let (_, frames) = try await client.stream(req)
        for try await f in frames {
          switch f.body {
          case .completionChunk(let c): if !json { FileHandle.standardOutput.write(Data(c.delta.utf8)) }
          case .streamRestart(let r):
            if !json { FileHandle.standardError.write(Data("\n[restart: \(r.failedProvider)/\(r.failedModel) failed (\(r.reasonCode)); continuing on \(r.nextProvider)/\(r.nextModel)]\n".utf8)) }
          case .completionResponse(let r):
            if json { try printJSON(r) } else { print("\n\(r.decisionSummary) request_id=\(r.requestID)") }
          case .status(let s): throw SwitchboardStatusError(s)
          default: break
          }
        }
      } else {
        let r = try await client.complete(req)
        if json { try printJSON(r) } else { print(r.content) }
      }
    } catch let e as SwitchboardStatusError { throw fail(e) }
  }
}

// MARK: - explain / decisions

struct Explain: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Explain one decision: candidates, attempts, cost vs baseline.")
  @OptionGroup var socket: SocketOptions
  @Flag var json = false
  @Argument(help: "The request id.") var requestID: String

  func run() async throws {
    let client = try await socket.connect()
    var a = Switchboard_V1_AdminRequest()
    var e = Switchboard_V1_ExplainRequest(); e.requestID = requestID
    a.kind = .explain(e)
    do {
      let r = try await client.admin(a)
      if json { try printJSON(r.explain.event) } else { print(r.explain.text) }
    } catch let e as SwitchboardStatusError { throw fail(e) }
    await client.close()
  }
}

/// Parses "90s", "15m", "1h", "2d" into milliseconds.
func parseAge(_ s: String) throws -> Int64 {
  let units: [Character: Int64] = ["s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000]
  guard let u = s.last, let mult = units[u], let n = Int64(s.dropLast()) else { throw CLIError("expected a duration like 30m, 1h or 2d, got '\(s)'") }
  return n * mult
}

struct Decisions: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "List recent decisions (newest first).")
  @OptionGroup var socket: SocketOptions
  @Option(help: "Only decisions newer than this (30m, 1h, 2d).") var since: String?
  @Option var route: String?
  @Option var tenant: String?
  @Option(help: "success | failed | cancelled") var outcome: String?
  @Option var provider: String?
  @Option var limit: UInt32 = 50
  @Flag(help: "One JSON object per line (JSON Lines).") var json = false
  @Option(help: "Export from this SQLite audit file directly (no daemon needed) as JSON Lines, oldest first; --limit 0 = all.")
  var db: String?

  func run() async throws {
    if let db { return try await export(db) }
    var l = Switchboard_V1_ListDecisionsRequest()
    if let since { l.sinceMs = Int64(Date().timeIntervalSince1970 * 1000) - (try parseAge(since)) }
    if let route { l.route = route }
    if let tenant { l.tenant = tenant }
    if let outcome { l.outcome = outcome }
    if let provider { l.provider = provider }
    l.limit = limit
    var a = Switchboard_V1_AdminRequest(); a.kind = .listDecisions(l)
    let client = try await socket.connect()
    do {
      let r = try await client.admin(a)
      for e in r.listDecisions.events {
        if json { try printJSON(e); continue }
        let time = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(e.timestampMs) / 1000))
        let served = e.chosenProvider.isEmpty ? "-" : "\(e.chosenProvider)/\(e.chosenModel)"
        let cost: String
        if case .costUsd(let c)? = e.optCostUsd { cost = formatUSD(c) } else { cost = "unknown" }
        print("\(time) \(e.requestID) route=\(e.route) outcome=\(e.outcome) served_by=\(served) attempts=\(e.attempts.filter { $0.outcome != "skipped" }.count) cost_usd=\(cost)\(e.reasonCode.isEmpty ? "" : " reason=\(e.reasonCode)")")
      }
    } catch let e as SwitchboardStatusError { throw fail(e) }
    await client.close()
  }
}

extension Decisions {
  func export(_ path: String) async throws {
    guard FileManager.default.fileExists(atPath: path) else { throw CLIError("no audit database at \(path)") }
    let store = try AuditStore(path: path, durableResponses: false, logger: Logger(label: "switchboard.export"))
    var filter = DecisionFilter(limit: limit == 0 ? nil : Int(limit), order: .oldestFirst)
    if let since { filter.sinceMs = Int64(Date().timeIntervalSince1970 * 1000) - (try parseAge(since)) }
    filter.route = route
    filter.tenant = tenant
    filter.provider = provider
    if let outcome {
      guard let o = DecisionEvent.Outcome(rawValue: outcome) else { throw CLIError("--outcome: success, failed or cancelled") }
      filter.outcome = o
    }
    let n = try await store.exportJSONLines(filter: filter, to: FileHandle.standardOutput)
    await store.close()
    FileHandle.standardError.write(Data("exported \(n) decision(s)\n".utf8))
  }
}

// MARK: - health / keys / reload

struct Health: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Exit 0 when the daemon serves; print circuits and budgets.")
  @OptionGroup var socket: SocketOptions
  @Flag var json = false
  @Flag(help: "Print nothing; only the exit code.") var quiet = false

  func run() async throws {
    let client = try await socket.connect()
    var a = Switchboard_V1_AdminRequest(); a.kind = .health(Switchboard_V1_HealthRequest())
    do {
      let h = try await client.admin(a).health
      await client.close()
      if json { try printJSON(h) } else if !quiet {
        print("serving=\(h.serving) version=\(h.version) uptime_ms=\(h.uptimeMs) in_flight=\(h.inFlight) config=\(h.configDigest)")
        for c in h.circuits {
          print("circuit \(c.provider)/\(c.model) key=\(c.keyFingerprint) state=\(c.state) failures=\(c.consecutiveFailures) cooldown_remaining_ms=\(c.cooldownRemainingMs)")
        }
        for b in h.budgets {
          var line = "budget \(b.scope) window=\(b.window) spent_usd=\(formatUSD(b.spentUsd)) reserved_usd=\(formatUSD(b.reservedUsd))"
          if case .hardLimitUsd(let v)? = b.optHardLimitUsd { line += " hard_usd=\(formatUSD(v))" }
          if case .softLimitUsd(let v)? = b.optSoftLimitUsd { line += " soft_usd=\(formatUSD(v))" }
          print(line)
        }
      }
      if !h.serving { throw ExitCode(1) }
    } catch let e as SwitchboardStatusError { throw fail(e) }
  }
}

struct Keys: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Set, rotate or clear a provider's in-memory API key (secrets are read from stdin; needs admin rights).",
                                                  subcommands: [Set.self, Rotate.self, Clear.self])
  static func readSecret(allowEmpty: Bool) throws -> String {
    let data = FileHandle.standardInput.readDataToEndOfFile()
    let s = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    if s.isEmpty && !allowEmpty { throw CLIError("no key on stdin") }
    return s
  }
  struct Set: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Replace the in-memory key of PROVIDER with the one on stdin.")
    @OptionGroup var socket: SocketOptions
    @Argument var provider: String
    func run() async throws {
      var k = Switchboard_V1_SetKeyRequest(); k.provider = provider; k.apiKey = try Keys.readSecret(allowEmpty: false)
      var a = Switchboard_V1_AdminRequest(); a.kind = .setKey(k)
      let client = try await socket.connect()
      do {
        let r = try await client.admin(a).setKey
        print("provider=\(r.provider) key=\(r.keyFingerprint) pool_size=\(r.poolSize)")
      } catch let e as SwitchboardStatusError { throw fail(e) }
      await client.close()
    }
  }
  struct Rotate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Make the key on stdin active (older ones stay as fallbacks); with empty stdin, advance the pool.")
    @OptionGroup var socket: SocketOptions
    @Argument var provider: String
    func run() async throws {
      var k = Switchboard_V1_RotateKeyRequest(); k.provider = provider; k.apiKey = try Keys.readSecret(allowEmpty: true)
      var a = Switchboard_V1_AdminRequest(); a.kind = .rotateKey(k)
      let client = try await socket.connect()
      do {
        let r = try await client.admin(a).rotateKey
        print("provider=\(r.provider) active_key=\(r.activeKeyFingerprint) pool_size=\(r.poolSize)")
      } catch let e as SwitchboardStatusError { throw fail(e) }
      await client.close()
    }
  }
}

extension Keys {
  struct Clear: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Drop the in-memory keys of PROVIDER (set or rotated over the socket); config, environment and .env apply again.")
    @OptionGroup var socket: SocketOptions
    @Argument var provider: String
    func run() async throws {
      var k = Switchboard_V1_ClearKeyRequest(); k.provider = provider
      var a = Switchboard_V1_AdminRequest(); a.kind = .clearKey_p(k)
      let client = try await socket.connect()
      do {
        let r = try await client.admin(a).clearKey_p
        print("provider=\(r.provider) active_key=\(r.activeKeyFingerprint) source=\(r.keySource) pool_size=\(r.poolSize)")
      } catch let e as SwitchboardStatusError { throw fail(e) }
      await client.close()
    }
  }
}

struct Reload: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Ask the daemon to re-read its config file (validated first; an invalid file is rejected).",
    discussion: "The daemon re-reads the file it was started with; to use another file, restart it with --config. Needs admin rights.")
  @OptionGroup var socket: SocketOptions
  func run() async throws {
    let rc = Switchboard_V1_ReloadConfigRequest()
    var a = Switchboard_V1_AdminRequest(); a.kind = .reloadConfig(rc)
    let client = try await socket.connect()
    do {
      let r = try await client.admin(a).reloadConfig
      await client.close()
      if r.applied { print("reloaded config=\(r.configDigest)") } else {
        for e in r.errors { FileHandle.standardError.write(Data("\(e)\n".utf8)) }
        FileHandle.standardError.write(Data("reload rejected; the daemon keeps config=\(r.configDigest)\n".utf8))
        throw ExitCode(1)
      }
    } catch let e as SwitchboardStatusError { throw fail(e) }
  }
}

// MARK: - simulate / config

struct Simulate: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Run a chaos drill on simulated providers (virtual time); non-zero exit when an invariant breaks.")
  @Flag(help: "List the drills.") var list = false
  @Flag(help: "Run every drill.") var all = false
  @Argument var scenario: String?

  func run() async throws {
    if list || (scenario == nil && !all) {
      for d in Drills.all { print("\(d.name.padding(toLength: 18, withPad: " ", startingAt: 0)) \(d.summary)") }
      return
    }
    let reports = all ? try await Drills.runAll() : [try await Drills.run(scenario!)]
    var ok = true
    for r in reports {
      print(r.rendered)
      ok = ok && r.passed
    }
    if !ok { throw ExitCode(1) }
  }
}

struct Config: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Config file tools.", subcommands: [Check.self])
  struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Validate a config file; print every error with its key path.")
    @Argument var file: String
    func run() async throws {
      let report = await ConfigCheck.run(path: file)
      for w in report.warnings { FileHandle.standardError.write(Data("\(file): warning: \(w)\n".utf8)) }
      guard let c = report.configuration else {
        for i in report.errors { print("\(file): \(i)") }
        throw ExitCode(2)
      }
      print("ok: \(c.providers.count) provider(s), \(c.routes.count) route(s), socket \(c.server.path), digest \(c.digest)"
            + (report.warnings.isEmpty ? "" : ", \(report.warnings.count) warning(s)"))
    }
  }
}
