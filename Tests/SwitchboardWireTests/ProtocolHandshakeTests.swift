import SwitchboardWire
import Testing

@Suite struct ProtocolHandshakeTests {
  let handshake = ProtocolHandshake(serverVersion: "9.9.9", maxFrameBytes: 1 << 20, maxConcurrentCallsPerConnection: 64)

  func hello(_ v: UInt32) -> Switchboard_V1_Hello {
    var h = Switchboard_V1_Hello(); h.protocolVersion = v; h.clientName = "t"; return h
  }

  @Test(arguments: [(UInt32(0), true), (1, true), (2, false), (99, false), (UInt32.max, false)])
  func versions(_ version: UInt32, _ accepted: Bool) {
    let verdict = handshake.answer(hello(version))
    #expect(verdict.closesConnection == !accepted)
    let frame = verdict.frame(callID: 0)
    #expect(frame.callID == 0)
    switch verdict {
    case .welcome(let w):
      #expect(accepted)
      #expect(w.protocolVersion == 1)
      #expect(w.serverVersion == "9.9.9")
      #expect(w.maxFrameBytes == 1 << 20)
      #expect(w.maxConcurrentCallsPerConnection == 64)
      if case .welcome = frame.body {} else { Issue.record("not a welcome frame") }
    case .refuse(let s):
      #expect(!accepted)
      #expect(s.code == .failedPrecondition)
      #expect(s.reasonCode == "unsupported_protocol_version")
      #expect(s.message.contains("version \(version)"))
      #expect(s.message.contains("speaks version 1"))
      #expect(!s.retryable)
      if case .status = frame.body {} else { Issue.record("not a status frame") }
    }
  }

  @Test func limitsFromTheServerConfiguration() {
    var c = UnixSocketServerConfiguration()
    c.maxFrameBytes = 12345
    c.maxInFlightPerConnection = 7
    guard case .welcome(let w) = ProtocolHandshake(configuration: c).answer(hello(1)) else { Issue.record("refused"); return }
    #expect(w.maxFrameBytes == 12345 && w.maxConcurrentCallsPerConnection == 7)
  }
}
