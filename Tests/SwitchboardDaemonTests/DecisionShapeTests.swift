import Foundation
import Logging
import Synchronization
import SwitchboardAudit
import SwitchboardClient
import SwitchboardCore
import SwitchboardDaemon
import SwitchboardWire
import Testing

/// Lines a JSON log handler wrote, in order.
final class CapturedLines: Sendable {
  private let lines = Mutex<[String]>([])
  func append(_ s: String) { lines.withLock { $0.append(s) } }
  var all: [String] { lines.withLock { $0 } }
  /// The lines as JSON objects (every line must be one).
  func objects() throws -> [[String: Any]] {
    try all.map { line in try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)") }
  }
}

enum ShapeSupport {
  static var cli: String { TestSupport.repoRoot.appendingPathComponent(".build/debug/switchboard").path }
  static var daemon: String { TestSupport.repoRoot.appendingPathComponent(".build/debug/switchboardd").path }
  static var schema: String { TestSupport.repoRoot.appendingPathComponent("docs/decision-event.schema.json").path }

  /// A JSON-format logger whose lines land in `lines`.
  static func jsonLogger(_ lines: CapturedLines) -> Logger {
    Logger(label: "switchboard") { label in
      SwitchboardLogging.makeHandler(label: label, format: .json, level: .info, sink: { lines.append($0) })
    }
  }

  static func request(route: String, tags: [String: String]) -> Switchboard_V1_CompletionRequest {
    var r = TestSupport.request(route: route)
    r.tags = tags
    return r
  }

  /// Validates each document against docs/decision-event.schema.json with Python's
  /// `jsonschema` (Draft 2020-12); returns (exit status, output).
  static func validate(_ documents: [String]) async throws -> (Int32, String) {
    let dir = TestSupport.tempDir()
    var paths: [String] = []
    for (i, d) in documents.enumerated() {
      let p = dir + "/doc\(i).json"
      try d.write(toFile: p, atomically: true, encoding: .utf8)
      paths.append(p)
    }
    let script = """
      import json, sys
      import jsonschema
      schema = json.load(open(sys.argv[1]))
      jsonschema.Draft202012Validator.check_schema(schema)
      v = jsonschema.Draft202012Validator(schema)
      bad = 0
      for p in sys.argv[2:]:
          for e in v.iter_errors(json.load(open(p))):
              bad += 1
              print(p, "/".join(map(str, e.absolute_path)), e.message)
      sys.exit(1 if bad else 0)
      """
    try script.write(toFile: dir + "/validate.py", atomically: true, encoding: .utf8)
    return try await TestSupport.run("/usr/bin/env", ["python3", dir + "/validate.py", schema] + paths)
  }

  /// Keys of a decision document at every level (`attempts[].latency_ms`), tag keys excepted.
  static func keyPaths(_ value: Any, _ path: String = "") -> Set<String> {
    var out: Set<String> = []
    if let d = value as? [String: Any] {
      for (k, v) in d {
        out.insert(path + k)
        if path + k != "tags" { out.formUnion(keyPaths(v, path + k + ".")) }
      }
    } else if let a = value as? [Any] {
      for v in a { out.formUnion(keyPaths(v, String(path.dropLast()) + "[].")) }
    }
    return out
  }

  static func object(_ text: String) throws -> NSDictionary {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? NSDictionary, "\(text)")
  }
}

@Suite(.serialized) struct DecisionShapeTests {
  /// The issue: `decisions --db` printed `requestID`, `--json` and `explain --json`
  /// `request_id`, and JSON logs made every value a string. Now the four outputs of
  /// one failed-over, tagged request are the same document, valid against the schema.
  @Test func theFourOutputsAreOneShapeValidAgainstTheSchema() async throws {
    try #require(FileManager.default.isExecutableFile(atPath: ShapeSupport.cli))
    let dir = TestSupport.tempDir()
    let db = dir + "/audit.sqlite", socket = dir + "/s.sock"
    let lines = CapturedLines()
    let daemon = try await InProcessDaemon.start(yaml: TestSupport.baseYAML + "\naudit: {path: \"\(db)\"}\n", socketPath: socket,
                                                 logger: ShapeSupport.jsonLogger(lines))
    let client = try await SwitchboardClient.connect(socketPath: socket)
    let r = try await client.complete(ShapeSupport.request(route: "failover", tags: ["team": "payments", "ticket": "INC-42"]))
    await client.close()
    #expect(r.attempts == 3)

    let (s1, listed) = try await TestSupport.run(ShapeSupport.cli, ["decisions", "--socket", socket, "--json", "--tag", "team=payments"])
    let (s2, explained) = try await TestSupport.run(ShapeSupport.cli, ["explain", "--socket", socket, "--json", r.requestID])
    await daemon.stop()
    let (s3, exported) = try await TestSupport.run(ShapeSupport.cli, ["decisions", "--db", db, "--limit", "0"])
    #expect(s1 == 0 && s2 == 0 && s3 == 0, "\(listed)\n\(explained)\n\(exported)")

    let listLines = listed.split(separator: "\n").filter { $0.hasPrefix("{") }.map(String.init)
    let dbLines = exported.split(separator: "\n").filter { $0.hasPrefix("{") }.map(String.init)
    #expect(listLines.count == 1 && dbLines.count == 1)
    let logObjects = try lines.objects()
    let decisionLine = try #require(logObjects.first { $0["msg"] as? String == "decision" && $0["request.id"] as? String == r.requestID })
    let logDoc = String(decoding: try JSONSerialization.data(withJSONObject: try #require(decisionLine["decision"] as? [String: Any])),
                        as: UTF8.self)
    let docs = [("decisions --json", listLines.first ?? "{}"), ("explain --json", explained.trimmingCharacters(in: .whitespacesAndNewlines)),
                ("decisions --db", dbLines.first ?? "{}"), ("json log line", logDoc)]

    // Same keys everywhere, at every level; in fact the same document.
    let reference = try ShapeSupport.object(docs[0].1)
    let referenceKeys = ShapeSupport.keyPaths(reference)
    #expect(referenceKeys.contains("request_id") && referenceKeys.contains("attempts[].latency_ms") && referenceKeys.contains("tags"))
    #expect(!referenceKeys.contains("requestID") && !referenceKeys.contains("latencyMs"))
    for (name, doc) in docs {
      let parsed = try ShapeSupport.object(doc)
      #expect(ShapeSupport.keyPaths(parsed) == referenceKeys, "\(name) has other keys")
      #expect(parsed == reference, "\(name) differs:\n\(doc)\n\(docs[0].1)")
    }
    #expect(reference["request_id"] as? String == r.requestID)
    #expect(reference["tags"] as? [String: String] == ["team": "payments", "ticket": "INC-42"])
    #expect(reference["total_latency_ms"] is NSNumber && reference["timestamp_ms"] is NSNumber)

    // Valid against docs/decision-event.schema.json ...
    let (status, out) = try await ShapeSupport.validate(docs.map(\.1))
    #expect(status == 0, "\(out)")
    // ... and the schema can fail: the old camelCase shape and a string number are rejected.
    let camel = reference.mutableCopy() as! NSMutableDictionary
    camel["requestID"] = camel["request_id"]
    let stringly = reference.mutableCopy() as! NSMutableDictionary
    stringly["total_latency_ms"] = "162"
    let bad = try [camel, stringly].map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
    let (badStatus, badOut) = try await ShapeSupport.validate(bad)
    #expect(badStatus == 1 && badOut.contains("requestID") && badOut.contains("total_latency_ms"), "\(badOut)")

    // JSON log lines keep number types: the per-attempt and per-decision summary keys.
    let attemptLine = try #require(logObjects.first { $0["msg"] as? String == "attempt" && $0["request.id"] as? String == r.requestID })
    #expect(attemptLine["attempt.latency_ms"] is NSNumber && attemptLine["attempt.index"] is NSNumber, "\(attemptLine)")
    #expect(attemptLine["http.status"] as? Int == 503)
    #expect(decisionLine["decision.latency_ms"] is NSNumber && decisionLine["decision.attempts"] as? Int == 3)
    #expect(decisionLine["decision.cost_usd"] is NSNumber)
    #expect(decisionLine["request.id"] is String)
  }

  /// `decisions` shows the tenant, the attempts made and skipped and why (a circuit-open
  /// skip was a bare `attempts=1`), and `--tag K=V` filters on the daemon.
  @Test func listShowsSkipsAndWhyAndFiltersByTag() async throws {
    try #require(FileManager.default.isExecutableFile(atPath: ShapeSupport.cli))
    let yaml = TestSupport.baseYAML + "\ncircuit: {failure_threshold: 1, base_cooldown_ms: 600000, max_cooldown_ms: 600000}\n"
    try await TestSupport.withDaemon(yaml: yaml) { _, socket in
      let client = try await SwitchboardClient.connect(socketPath: socket)
      // bad/m fails (opens its circuit), fast/m serves; then bad/m is passed over.
      let first = try await client.complete(ShapeSupport.request(route: "failover", tags: ["team": "payments", "env": "prod"]))
      let second = try await client.complete(ShapeSupport.request(route: "failover", tags: ["team": "search", "env": "prod"]))
      #expect(first.attempts >= 2 && second.attempts == 1)

      let (status, all) = try await TestSupport.run(ShapeSupport.cli, ["decisions", "--socket", socket])
      #expect(status == 0, "\(all)")
      let line = try #require(all.split(separator: "\n").first { $0.contains(second.requestID) }.map(String.init))
      #expect(line.contains(" tenant=uid:\(getuid()) route=failover outcome=success served_by=fast/m attempts=1 skipped=1 "), "\(line)")
      #expect(line.contains("why=bad/m:circuit_open(skipped)"), "\(line)")
      #expect(line.contains("tags=env=prod,team=search"), "\(line)")
      let firstLine = try #require(all.split(separator: "\n").first { $0.contains(first.requestID) }.map(String.init))
      #expect(firstLine.contains("why=bad/m:provider_5xx"), "\(firstLine)")

      func listed(_ args: [String]) async throws -> [String] {
        let (s, out) = try await TestSupport.run(ShapeSupport.cli, ["decisions", "--socket", socket] + args)
        #expect(s == 0, "\(out)")
        return out.split(separator: "\n").compactMap { l in [first.requestID, second.requestID].first { l.contains($0) } }
      }
      #expect(try await listed(["--tag", "team=search"]) == [second.requestID])
      #expect(try await listed(["--tag", "env=prod"]) == [second.requestID, first.requestID])
      #expect(try await listed(["--tag", "env=prod", "--tag", "team=payments"]) == [first.requestID])
      #expect(try await listed(["--tag", "team=nobody"]) == [])
      let (badStatus, badOut) = try await TestSupport.run(ShapeSupport.cli, ["decisions", "--socket", socket, "--tag", "no-equals"])
      #expect(badStatus != 0 && badOut.contains("KEY=VALUE"))

      // The daemon checks the filter too (a client other than the CLI).
      var l = Switchboard_V1_ListDecisionsRequest()
      l.tags = ["bad key": "x"]
      var a = Switchboard_V1_AdminRequest(); a.kind = .listDecisions(l)
      do {
        _ = try await client.admin(a)
        Issue.record("an impossible tag filter was accepted")
      } catch let e as SwitchboardStatusError {
        #expect(e.status.code == .invalidArgument && e.status.reasonCode == "invalid_tags", "\(e)")
      }
      await client.close()
    }
  }

  /// Over-limit tags are refused with INVALID_ARGUMENT / invalid_tags naming the limit,
  /// never the value, and the connection keeps serving.
  @Test func overLimitTagsAreRefusedWithTheLimitNotTheValue() async throws {
    try await TestSupport.withDaemon { daemon, socket in
      let client = try await SwitchboardClient.connect(socketPath: socket)
      let canary = "sk-canary-\(UUID().uuidString)"
      var many: [String: String] = [:]
      for i in 0..<17 { many["k\(i)"] = "v" }
      let cases: [([String: String], String)] = [
        (many, "at most 16"),
        (["k": canary + String(repeating: "x", count: 300)], "at most 256"),
        ([canary + String(repeating: "x", count: 60): "v"], "at most 64"),
        (["k": canary + "\n"], "control character"),
      ]
      for (tags, limit) in cases {
        do {
          _ = try await client.complete(ShapeSupport.request(route: "default", tags: tags))
          Issue.record("accepted \(limit)")
        } catch let e as SwitchboardStatusError {
          #expect(e.status.code == .invalidArgument && e.status.reasonCode == "invalid_tags", "\(e)")
          #expect(e.status.message.contains(limit), "\(e.status.message)")
          #expect(!e.description.contains("sk-canary"), "\(e)")
        }
      }
      // The same connection still serves, with tags inside the bounds.
      let ok = try await client.complete(ShapeSupport.request(route: "default", tags: ["team": String(repeating: "v", count: 256)]))
      #expect(!ok.requestID.isEmpty)
      await daemon.runtime.audit.flush()
      // No refused request's tags reached the store.
      let stored = try await daemon.runtime.audit.events(filter: .init(limit: nil))
      #expect(stored.count == 5)
      #expect(stored.allSatisfy { e in !(e.tags ?? [:]).keys.contains { $0.hasPrefix("sk-canary") } && !(e.tags ?? [:]).values.contains { $0.contains("sk-canary") } })
      await client.close()
    }
  }

  /// explain shows the tags, which timeout fired and the caps, over the socket.
  @Test func explainShowsTagsTimeoutsAndCaps() async throws {
    let config = """
      listen: {socket: /tmp/unused.sock}
      logging: {level: error}
      providers:
        hang: {kind: simulated, script: [timeout]}
        fast: {kind: simulated, seed: 3, latency_ms: {p50: 2, p99: 5}}
      models:
        hang/m: {input: 1.0, output: 2.0, context: 32000, max_output: 4096, capabilities: [streaming]}
        fast/m: {input: 4.0, output: 8.0, context: 32000, max_output: 4096, capabilities: [streaming]}
      routes:
        timed: {candidates: [hang/m, fast/m], timeouts: {attempt_ms: 300, first_token_ms: 200}, constraints: {max_cost_usd: 0.5}}
      """
    try await TestSupport.withDaemon(yaml: config) { _, socket in
      let client = try await SwitchboardClient.connect(socketPath: socket)
      let r = try await client.complete(ShapeSupport.request(route: "timed", tags: ["ticket": "INC-7"]))
      var a = Switchboard_V1_AdminRequest()
      var e = Switchboard_V1_ExplainRequest(); e.requestID = r.requestID
      a.kind = .explain(e)
      let x = try await client.admin(a).explain
      #expect(x.event.tags == ["ticket": "INC-7"])
      #expect(x.event.attempts.first?.timeoutFired == "attempt_ms" && x.event.attempts.first?.timeoutLimitMs == 300)
      #expect(x.text.contains("tags      ticket=INC-7"))
      #expect(x.text.contains("[timeout attempt_ms=300.0ms fired]"), "\(x.text)")
      #expect(x.text.contains("cost cap      $0.5 worst case per request"), "\(x.text)")
      #expect(x.text.contains("× baseline"), "\(x.text)")
      await client.close()
    }
  }
}

@Suite(.serialized) struct StartupAndVersionTests {
  @Test func bothBinariesPrintTheirVersion() async throws {
    for exe in [ShapeSupport.daemon, ShapeSupport.cli] {
      try #require(FileManager.default.isExecutableFile(atPath: exe))
      let (status, out) = try await TestSupport.run(exe, ["--version"])
      #expect(status == 0)
      #expect(out.trimmingCharacters(in: .whitespacesAndNewlines) == SwitchboardVersion.current, "\(exe): \(out)")
    }
  }

  /// A real `switchboardd`: one line per listener, a summary of providers (key source
  /// and fingerprint, never the key), routes, and a warning naming a key variable
  /// that is not set. JSON log values keep their number types.
  @Test func startupLogsTheSummaryAndEveryListener() async throws {
    try #require(FileManager.default.isExecutableFile(atPath: ShapeSupport.daemon))
    let dir = TestSupport.tempDir()
    let socket = dir + "/d.sock", log = dir + "/stderr.log"
    let secret = "sk-test-\(UUID().uuidString)"
    let setVar = "SB_SHAPE_KEY_\(UUID().uuidString.prefix(8).replacingOccurrences(of: "-", with: "_"))"
    let missingVar = setVar + "_MISSING"
    let yaml = """
      listen: {socket: /tmp/unused.sock}
      metrics: {listen: "127.0.0.1:0"}
      logging: {level: info, format: json}
      providers:
        sim: {kind: simulated}
        oa: {kind: openai, preset: openai, api_key_env: \(setVar)}
        ob: {kind: openai, base_url: "http://127.0.0.1:9/v1", keys: [{env: \(missingVar)}]}
      models:
        sim/m: {input: 1.0, output: 2.0, context: 32000, max_output: 4096}
        ob/m: {input: 1.0, output: 2.0, context: 32000, max_output: 4096}
      routes:
        default: {candidates: [sim/m]}
        other: {strategy: cost, candidates: [sim/m, ob/m]}
      """
    try yaml.write(toFile: dir + "/c.yaml", atomically: true, encoding: .utf8)
    FileManager.default.createFile(atPath: log, contents: nil)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: ShapeSupport.daemon)
    p.arguments = ["--config", dir + "/c.yaml", "--socket", socket]
    var env = ProcessInfo.processInfo.environment
    env[setVar] = secret
    env[missingVar] = nil
    p.environment = env
    p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
    try p.run()
    var text = ""
    for _ in 0..<400 {
      text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
      if text.contains("\"listener\":\"socket\"") && text.contains("\"listener\":\"metrics\"") { break }
      try await Task.sleep(for: .milliseconds(25))
    }
    kill(p.processIdentifier, SIGTERM)
    await TestSupport.waitForExit(p)
    text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    #expect(!text.contains(secret), "the key itself never appears")
    let objects = text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    func lines(_ msg: String) -> [[String: Any]] { objects.filter { $0["msg"] as? String == msg } }

    let start = try #require(lines("starting").first, "\(text)")
    #expect(start["version"] as? String == SwitchboardVersion.current)
    #expect(start["providers"] as? Int == 3 && start["routes"] as? Int == 2, "numbers stay numbers: \(start)")
    let providers = Dictionary(uniqueKeysWithValues: lines("provider").map { ($0["provider.name"] as? String ?? "?", $0) })
    #expect(Set(providers.keys) == ["sim", "oa", "ob"])
    #expect(providers["oa"]?["key.source"] as? String == "env")
    #expect(providers["oa"]?["key.fingerprint"] as? String == Secret(secret).fingerprint)
    #expect(providers["oa"]?["pool.size"] as? Int == 1)
    #expect(providers["ob"]?["key.source"] as? String == "none" && providers["ob"]?["pool.size"] as? Int == 0)
    let warnings = lines("api key environment variable not set")
    #expect(warnings.count == 1, "\(text)")
    #expect(warnings.first?["env.name"] as? String == missingVar && warnings.first?["provider.name"] as? String == "ob")
    #expect(warnings.first?["level"] as? String == "warning")
    #expect(Set(lines("route").compactMap { $0["route.name"] as? String }) == ["default", "other"])
    #expect(lines("route").first { $0["route.name"] as? String == "other" }?["route.candidates"] as? String == "sim/m,ob/m")
    let listeners = objects.compactMap { $0["listener"] as? String }
    #expect(listeners.sorted() == ["metrics", "socket"], "one line per listener: \(listeners)")
  }
}

@Suite(.serialized) struct DemoOutputTests {
  /// The demo printed a literal `budget_usd=0.008`; now it prints the caps of the config
  /// it runs: a changed config changes the line.
  @Test func theDemoPrintsTheCapsOfItsConfig() async throws {
    try #require(FileManager.default.isExecutableFile(atPath: ShapeSupport.cli))
    let dir = TestSupport.tempDir()
    let yaml = DemoConfiguration.yaml
      .replacingOccurrences(of: "constraints: {max_cost_usd: 0.008}", with: "constraints: {max_cost_usd: 0.0123}")
      .replacingOccurrences(of: "per_tenant_daily_usd: {soft: 40, hard: 50}", with: "per_tenant_daily_usd: {soft: 7, hard: 9}")
    #expect(yaml != DemoConfiguration.yaml)
    try yaml.write(toFile: dir + "/demo.yaml", atomically: true, encoding: .utf8)
    let (status, out) = try await TestSupport.run(ShapeSupport.cli, ["demo", "--socket", dir + "/demo.sock", "--config", dir + "/demo.yaml"])
    #expect(status == 0, "\(out)")
    let first = try #require(out.split(separator: "\n").first { $0.hasPrefix("request_id=") })
    #expect(first.contains("max_cost_usd=0.0123 tenant_daily_hard_usd=9.0 tenant_daily_soft_usd=7.0 attempt_ms=1500"), "\(first)")
    #expect(!out.contains("budget_usd=0.008") && !out.contains("max_cost_usd=0.008"))
    // Real time: the latency is 1500 ms and a little more under load; the limit is the config's.
    let attempt = try #require(out.split(separator: "\n").first { $0.hasPrefix("attempt=1 ") }, "\(out)")
    #expect(attempt.contains("failed=timeout class=transient latency_ms=15") && attempt.hasSuffix(" timeout=attempt_ms(1500)"), "\(attempt)")
    #expect(out.contains(" cost_ratio=15.2× "), "\(out)")
    #expect(out.contains("ratio         15.2× baseline"))
  }
}

@Suite struct LogValueTypesTests {
  /// JSON lines keep number types; a JSON document is embedded as an object in JSON
  /// and left out of logfmt; a non-finite amount is a string, never invalid JSON.
  @Test func numbersDocumentsAndLogfmt() throws {
    let json = CapturedLines(), logfmt = CapturedLines()
    let md: Logger.Metadata = [
      "n": .stringConvertible(42), "usd": .stringConvertible(LogUSD(0.00066)), "bad": .stringConvertible(LogUSD(.nan)),
      "doc": .stringConvertible(JSONLogDocument { #"{"a":1,"b":[true]}"# }), "s": "42",
    ]
    Logger(label: "t") { SwitchboardLogging.makeHandler(label: $0, format: .json, level: .info, sink: { json.append($0) }) }
      .info("m", metadata: md)
    Logger(label: "t") { SwitchboardLogging.makeHandler(label: $0, format: .logfmt, level: .info, sink: { logfmt.append($0) }) }
      .info("m", metadata: md)
    let line = try #require(json.all.first)
    let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
    #expect(obj["n"] as? Int == 42 && obj["usd"] as? Double == 0.00066 && obj["bad"] as? String == "nan")
    #expect(obj["s"] as? String == "42", "a string stays a string")
    #expect((obj["doc"] as? [String: Any])?["a"] as? Int == 1)
    let text = try #require(logfmt.all.first)
    #expect(text.contains(" n=42 ") && text.contains(" usd=0.00066") && !text.contains("doc="), "\(text)")
  }
}
