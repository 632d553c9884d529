import Foundation
import NIOCore
import SwitchboardClient
import SwitchboardCore
import SwitchboardDaemon
import SwitchboardWire
import Testing

/// Issue 11, bullet 1: admin is a separate right; reload takes no path from the wire;
/// `keys clear` ends the store's shadowing of config keys.
@Suite(.serialized) struct AdminRightsTests {
  static let canSetpriv = getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")

  func admin(_ kind: Switchboard_V1_AdminRequest.OneOf_Kind) -> Switchboard_V1_AdminRequest {
    var a = Switchboard_V1_AdminRequest(); a.kind = kind; return a
  }

  /// A second uid (nobody, via setpriv) that may complete but is not an admin: it
  /// cannot set, rotate or clear keys or reload (the attack of the issue: reload a
  /// file of its own naming), sees only its own decisions, and cannot explain root's.
  @Test(.enabled(if: canSetpriv, "needs root and setpriv to connect as a second uid"))
  func aCompletionCallerIsNotAnAdmin() async throws {
    let yaml = TestSupport.baseYAML.replacingOccurrences(of: "listen: {", with: "listen: {mode: \"0666\", allowed_uids: [0, 65534], ")
    try await TestSupport.withDaemon(yaml: yaml) { daemon, socket in
      chmod((socket as NSString).deletingLastPathComponent, 0o755)
      let root = try await SwitchboardClient.connect(socketPath: socket)
      let mine = try await root.complete(TestSupport.request(route: "default")).requestID
      let out = try await HostileClient.run(["admin", socket, mine], asNobody: true)
      func code(_ key: String) -> Int? { (out[key] as? [String: Any])?["status"] as? Int }
      #expect((out["complete"] as? [String: Any])?["completion"] != nil, "nobody may still complete: \(out)")
      for call in ["set_key", "rotate_key", "clear_key", "reload", "reload_path"] {
        #expect(code(call) == 5, "\(call) must be PERMISSION_DENIED for a non-admin: \(out)")
      }
      #expect(code("explain_other") == 4, "another caller's decision reads as not found: \(out)")
      let listed = out["listed"] as? [String] ?? []
      #expect(listed.count == 1 && !listed.contains(mine), "a non-admin sees only its own decision: \(out)")
      #expect((out["health"] as? [String: Any])?["admin"] != nil, "health stays open to every peer: \(out)")
      // The key nobody tried to set is not in the store; root (an admin) sees both decisions.
      #expect(daemon.runtime.router.keys.keys(for: "fast").isEmpty)
      var l = Switchboard_V1_ListDecisionsRequest(); l.limit = 100
      let all = try await root.admin(admin(.listDecisions(l))).listDecisions.events
      #expect(all.count == 2)
      await root.close()
    }
  }

  @Test(.enabled(if: canSetpriv, "needs root and setpriv to connect as a second uid"))
  func adminUidsGrantTheRight() async throws {
    let yaml = TestSupport.baseYAML.replacingOccurrences(of: "listen: {", with: "listen: {mode: \"0666\", admin_uids: [65534], ")
    try await TestSupport.withDaemon(yaml: yaml) { daemon, socket in
      chmod((socket as NSString).deletingLastPathComponent, 0o755)
      // Not in allowed_uids, but an admin may connect.
      let out = try await HostileClient.run(["admin", socket, "none"], asNobody: true)
      #expect((out["set_key"] as? [String: Any])?["admin"] != nil, "\(out)")
      #expect((out["reload_path"] as? [String: Any])?["reason"] as? String == "reload_path_refused", "\(out)")
      _ = daemon
    }
  }

  /// Reload applies `listen.allowed_uids` (it used to be ignored while answering
  /// `applied: true`): a peer no longer allowed has its connection closed, and
  /// `listen.mode` is re-applied to the socket.
  @Test(.enabled(if: canSetpriv, "needs root and setpriv to connect as a second uid"))
  func reloadAppliesAccessAndMode() async throws {
    let dir = TestSupport.tempDir()
    let file = dir + "/c.yaml"
    let open = TestSupport.baseYAML.replacingOccurrences(of: "listen: {", with: "listen: {mode: \"0666\", allowed_uids: [0, 65534], ")
    try open.write(toFile: file, atomically: true, encoding: .utf8)
    try await TestSupport.withDaemon(yaml: open, configPath: file) { daemon, socket in
      chmod((socket as NSString).deletingLastPathComponent, 0o755)
      // The helper (uid 65534) marks here when its first call was answered.
      let marks = TestSupport.tempDir()
      chmod(marks, 0o777)
      let answered = marks + "/answered"
      let held = Task { () -> (served: Bool, closed: Bool, text: String) in
        let out = try await HostileClient.run(["hold", socket, "30", answered], asNobody: true)
        return ((out["first"] as? [String: Any])?["admin"] != nil, out["closed"] as? Bool == true, "\(out)")
      }
      // Reload only once the held peer's first call was answered (a fixed 500 ms, then
      // a connection count and 300 ms, raced the helper process on a loaded machine).
      #expect(await TestSupport.eventually(timeout: .seconds(60)) { FileManager.default.fileExists(atPath: answered) })
      try open.replacingOccurrences(of: "mode: \"0666\", allowed_uids: [0, 65534]", with: "mode: \"0600\", allowed_uids: [0]")
        .write(toFile: file, atomically: true, encoding: .utf8)
      let client = try await SwitchboardClient.connect(socketPath: socket)
      #expect(try await client.admin(admin(.reloadConfig(.init()))).reloadConfig.applied)
      let out = try await held.value
      #expect(out.served, "\(out.text)")
      #expect(out.closed, "the removed uid's connection stays open: \(out.text)")
      let mode = try FileManager.default.attributesOfItem(atPath: socket)[.posixPermissions] as? Int
      #expect(mode == 0o600)
      await client.close()
    }
  }

  @Test func reloadRefusesAPathFromTheWire() async throws {
    let dir = TestSupport.tempDir()
    let file = dir + "/c.yaml"
    try TestSupport.baseYAML.write(toFile: file, atomically: true, encoding: .utf8)
    let evil = dir + "/evil.yaml"
    try (TestSupport.baseYAML + "\n  evil: {candidates: [fast/m]}\n").write(toFile: evil, atomically: true, encoding: .utf8)
    try await TestSupport.withDaemon(configPath: file) { _, socket in
      let client = try await SwitchboardClient.connect(socketPath: socket)
      var rc = Switchboard_V1_ReloadConfigRequest(); rc.path = evil
      do {
        _ = try await client.admin(admin(.reloadConfig(rc)))
        Issue.record("a reload naming a path was accepted")
      } catch let e as SwitchboardStatusError {
        #expect(e.status.code == .invalidArgument)
        #expect(e.status.reasonCode == "reload_path_refused")
      }
      await #expect(throws: SwitchboardStatusError.self) { _ = try await client.complete(TestSupport.request(route: "evil")) }
      #expect(try await client.admin(admin(.reloadConfig(.init()))).reloadConfig.applied)
      await client.close()
    }
  }

  @Test func keysClearLetsConfigKeysApplyAgain() async throws {
    let yaml = TestSupport.baseYAML.replacingOccurrences(of: "providers:\n", with: """
      providers:
        up: {kind: openai, base_url: "http://127.0.0.1:9/v1", keys: [{value: "sk-from-config"}]}

      """)
    try await TestSupport.withDaemon(yaml: yaml) { daemon, socket in
      let client = try await SwitchboardClient.connect(socketPath: socket)
      var set = Switchboard_V1_SetKeyRequest(); set.provider = "up"; set.apiKey = "sk-from-store"
      _ = try await client.admin(admin(.setKey(set)))
      #expect(daemon.runtime.router.keys.keys(for: "up").first?.source == .store)
      var clear = Switchboard_V1_ClearKeyRequest(); clear.provider = "up"
      let r = try await client.admin(admin(.clearKey_p(clear))).clearKey_p
      #expect(r.keySource == "config")
      #expect(r.activeKeyFingerprint == Secret("sk-from-config").fingerprint)
      #expect(daemon.runtime.router.keys.keys(for: "up").first?.source == .config)
      clear.provider = "nope"
      await #expect(throws: SwitchboardStatusError.self) { _ = try await client.admin(admin(.clearKey_p(clear))) }
      await client.close()
    }
  }

  /// A cancelled admin call answers CANCELLED, never INTERNAL `CancellationError()`.
  @Test func aCancelledAdminCallAnswersCancelled() async throws {
    try await TestSupport.withDaemon { daemon, socket in
      let client = try await SwitchboardClient.connect(socketPath: socket)
      // Enough rows that a 10,000-row read is still running when the cancel arrives.
      let audit = daemon.runtime.audit
      await withTaskGroup(of: Void.self) { g in
        for i in 0..<4000 {
          g.addTask {
            let json = """
              {"requestID":"bulk-\(i)","timestampMs":\(1_767_225_600_000 + Int64(i)),"tenant":"t","route":"default","strategy":"priority",
               "stream":false,"outcome":"success","message":"","candidates":[],"attempts":[],"totalSpendUSD":0,"budgetScopes":[],
               "usage":{"inputTokens":1,"outputTokens":1,"cachedInputTokens":0,"cacheWriteTokens":0},"totalLatencyMs":1,"warnings":[]}
              """
            if let e = try? JSONDecoder().decode(DecisionEvent.self, from: Data(json.utf8)) { await audit.record(e) }
          }
        }
      }
      var cancelled = 0
      for _ in 0..<20 {
        var l = Switchboard_V1_ListDecisionsRequest(); l.limit = 10_000
        let id = client.newCallID()
        // Request and cancel in one write: the cancel arrives while the read runs.
        var f1 = Switchboard_V1_Frame(); f1.callID = id; f1.body = .adminRequest(admin(.listDecisions(l)))
        var f2 = Switchboard_V1_Frame(); f2.callID = id; f2.body = .cancel(.init())
        // Registers the call id on the client (a cancel of an unknown id is a no-op on the daemon).
        let (_, stream) = try await client.open(.cancel(.init()), callID: id)
        var bytes = try f1.framed(allocator: .init())
        var second = try f2.framed(allocator: .init())
        bytes.writeBuffer(&second)
        try await client.writeRaw(bytes.readBytes(length: bytes.readableBytes) ?? [])
        for try await f in stream {
          guard case .status(let s) = f.body else { continue }
          #expect(s.code != .internal, "a cancelled admin read answered INTERNAL: \(s.message)")
          if s.code == .cancelled { cancelled += 1 }
        }
      }
      #expect(cancelled >= 15, "\(cancelled) of 20 cancelled reads answered CANCELLED")
      await client.close()
    }
  }
}
