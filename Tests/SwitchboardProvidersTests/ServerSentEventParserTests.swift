import NIOCore
import Testing
@testable import SwitchboardProviders

@Suite("Server-sent event parser")
struct ServerSentEventParserTests {
  @Test func eventsSplitAcrossBuffersAndLineEndings() throws {
    let text = "event: message_start\r\ndata: {\"a\":1}\r\n\r\n: keep-alive\n\ndata: line1\ndata: line2\n\ndata:x\r\rdata: tail"
    // Feed one byte at a time: every split point must give the same events.
    var parser = ServerSentEventParser()
    var events: [ServerSentEvent] = []
    for byte in text.utf8 { events += try parser.feed(ByteBuffer(bytes: [byte])) }
    #expect(events == [ServerSentEvent(event: "message_start", data: "{\"a\":1}"),
                       ServerSentEvent(data: "line1\nline2"), ServerSentEvent(data: "x")])
    #expect(parser.commentsSeen == 1)
    var whole = ServerSentEventParser()
    #expect(try whole.feed(ByteBuffer(string: text)) == events)
  }

  @Test func overlongLineIsRejected() {
    var parser = ServerSentEventParser(maxLineBytes: 16)
    #expect(throws: ServerSentEventParser.LineTooLong.self) {
      _ = try parser.feed(ByteBuffer(string: "data: " + String(repeating: "x", count: 64)))
    }
  }

  @Test(arguments: [
    ("text/event-stream", true), ("Text/Event-Stream; charset=utf-8", true), ("  text/event-stream", true),
    ("application/json", false), ("text/event-strea", false), ("", false), ("text/plain; x=text/event", false),
  ])
  func contentTypesThatAreEventStreams(_ value: String, _ expected: Bool) {
    #expect(ServerSentEventParser.isEventStream(value) == expected)
  }
}
