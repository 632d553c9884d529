import NIOCore
import NIOHTTP1
import Testing
@testable import SwitchboardProviders

/// The attempt's event queue: events in order whether they arrive before or while
/// the consumer waits; `finish()` drains then ends; a cancelled consumer ends at once.
@Suite("Attempt event queue")
struct AttemptEventQueueTests {
  static func name(_ e: AttemptEvent?) -> String {
    switch e {
    case .requestSent?: "sent"
    case .head(let h)?: "head \(h.status.code)"
    case .body?: "body"
    case .end?: "end"
    case .failed?: "failed"
    case .limit(let l)?: "limit \(l)"
    case nil: "nil"
    }
  }

  @Test func bufferedEventsThenFinishComeOutInOrderThenNil() async {
    let q = AttemptEventQueue()
    q.yield(.requestSent)
    q.yield(.head(HTTPResponseHead(version: .http1_1, status: .ok)))
    q.yield(.body(ByteBuffer(string: "x")))
    q.yield(.end)
    q.finish()
    q.yield(.requestSent)  // after finish: dropped
    var out: [String] = []
    while let e = await q.next() { out.append(Self.name(e)) }
    #expect(out == ["sent", "head 200", "body", "end"])
    #expect(Self.name(await q.next()) == "nil")
  }

  @Test func aWaitingConsumerGetsEventsFromAnotherThreadInOrder() async {
    let q = AttemptEventQueue()
    let consumer = Task { () -> [String] in
      var out: [String] = []
      while let e = await q.next() { out.append(Self.name(e)) }
      return out
    }
    let producer = Task.detached {
      for _ in 0..<1000 { q.yield(.body(ByteBuffer(string: "x"))); if Bool.random() { await Task.yield() } }
      q.yield(.limit(.idle))
      q.finish()
    }
    await producer.value
    let out = await consumer.value
    #expect(out.count == 1001)
    #expect(out.last == "limit idle")
    #expect(out.dropLast().allSatisfy { $0 == "body" })
  }

  @Test func cancellingTheConsumerEndsItsWait() async {
    let q = AttemptEventQueue()
    let consumer = Task { await q.next() }
    consumer.cancel()
    #expect(Self.name(await consumer.value) == "nil")
    // A consumer cancelled before it asks ends at once too, events or not.
    q.yield(.requestSent)
    let late = Task { () -> AttemptEvent? in
      withUnsafeCurrentTask { $0?.cancel() }
      return await q.next()
    }
    #expect(Self.name(await late.value) == "nil")
  }
}
