import Foundation
import SwitchboardDaemon
import Testing

/// Socket access with a second uid: a Python client run through `setpriv` as
/// nobody (65534) connects; the daemon allows or refuses it by its peer credentials.
@Suite(.serialized, .enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
                              "needs root and setpriv to connect as a second uid"))
struct AccessControlTests {
  /// A protobuf-free probe (the second uid cannot read root's site-packages):
  /// Frame{call_id: 1, admin_request{health{}}} as raw bytes; prints which body
  /// the answer carries and, for a status, its code number.
  static let probe = """
    import socket, struct, sys
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
    if len(sys.argv) > 2: import time; time.sleep(float(sys.argv[2]))
    payload = bytes([0x08, 0x01, 0x52, 0x02, 0x0a, 0x00])
    s.sendall(struct.pack('>BI', 0, len(payload)) + payload)
    def read(n):
        b = b''
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c: print('CLOSED'); sys.exit(0)
            b += c
        return b
    n = struct.unpack('>I', read(5)[1:])[0]; p = read(n)
    i = 0
    if p[i] == 0x08:  # call_id varint
        i += 1
        while p[i] & 0x80: i += 1
        i += 1
    tag = p[i]
    if tag == 0x42:  # status: length, then field 1 (code) varint
        body = p[i + 2:]
        print('status', body[1] if body and body[0] == 0x08 else 0)
    elif tag == 0x5a:
        print('admin_response')
    else:
        print('other', tag)
    """

  func runAsNobody(_ socket: String, sendAfter: Double? = nil) async throws -> String {
    let dir = TestSupport.tempDir()
    try Self.probe.write(toFile: dir + "/probe.py", atomically: true, encoding: .utf8)
    chmod(dir, 0o755); chmod(dir + "/probe.py", 0o644)
    let (_, out) = try await TestSupport.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", dir + "/probe.py", socket]
                                             + (sendAfter.map { ["\($0)"] } ?? []))
    return out
  }

  @Test func aRefusedPeerGetsPermissionDenied() async throws {
    let yaml = TestSupport.baseYAML.replacingOccurrences(of: "listen: {", with: "listen: {mode: \"0666\", ")
    try await TestSupport.withDaemon(yaml: yaml) { _, socket in
      chmod((socket as NSString).deletingLastPathComponent, 0o755)
      let out = try await runAsNobody(socket)
      #expect(out.contains("status 5"), "PERMISSION_DENIED is code 5: \(out)")
    }
  }

  @Test func aRefusedPeerThatWritesLateStillReadsWhy() async throws {
    // The refusal is written at once; this peer sends its request 300 ms later. The
    // daemon used to close at once, so the write failed (EPIPE) and the peer never
    // read the refusal; now it stops reading and keeps the socket a moment.
    let yaml = TestSupport.baseYAML.replacingOccurrences(of: "listen: {", with: "listen: {mode: \"0666\", ")
    try await TestSupport.withDaemon(yaml: yaml) { _, socket in
      chmod((socket as NSString).deletingLastPathComponent, 0o755)
      let out = try await runAsNobody(socket, sendAfter: 0.3)
      #expect(out.contains("status 5"), "PERMISSION_DENIED is code 5: \(out)")
    }
  }

  @Test func anAllowedUidIsServed() async throws {
    let yaml = TestSupport.baseYAML.replacingOccurrences(of: "listen: {", with: "listen: {mode: \"0666\", allowed_uids: [0, 65534], ")
    try await TestSupport.withDaemon(yaml: yaml) { _, socket in
      chmod((socket as NSString).deletingLastPathComponent, 0o755)
      let out = try await runAsNobody(socket)
      #expect(out.contains("admin_response"), "\(out)")
    }
  }

  @Test func anAllowedGidIsServed() async throws {
    // uid 65534 is not listed, but its primary gid is.
    let yaml = TestSupport.baseYAML.replacingOccurrences(of: "listen: {", with: "listen: {mode: \"0666\", allowed_gids: [65534], ")
    try await TestSupport.withDaemon(yaml: yaml) { _, socket in
      chmod((socket as NSString).deletingLastPathComponent, 0o755)
      let out = try await runAsNobody(socket)
      #expect(out.contains("admin_response"), "\(out)")
    }
  }

  @Test func socketModeComesFromConfig() async throws {
    let yaml = TestSupport.baseYAML.replacingOccurrences(of: "listen: {", with: "listen: {mode: \"0640\", ")
    try await TestSupport.withDaemon(yaml: yaml) { _, socket in
      let attrs = try FileManager.default.attributesOfItem(atPath: socket)
      #expect((attrs[.posixPermissions] as? Int) == 0o640)
    }
  }
}
