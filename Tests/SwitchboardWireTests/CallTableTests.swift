@testable import SwitchboardWire
import Testing

/// The per-connection call table and the server's connection table, driven by
/// tables of operations and the answers each must give.
@Suite struct CallTableTests {
  enum Op {
    case admit(UInt64, CallTable<String>.Kind)
    case attach(UInt64, String)
    case cancel(UInt64)
    case release(UInt64)
    /// Release with a generation that is not the current one (a stale call).
    case releaseStale(UInt64)
    case drain
    case expire
  }

  enum Outcome: Equatable {
    case admitted, duplicate, overloaded, draining
    case attached(cancelNow: Bool)
    case cancels(String?)
    case released(close: Bool)
    case expired([UInt64])
  }

  struct Case: CustomTestStringConvertible, Sendable {
    let name: String
    let limits: CallTable<String>.Limits
    let steps: [(Op, Outcome)]
    var testDescription: String { name }
  }

  static let cases: [Case] = [
    Case(name: "an id is reusable as soon as its call is released", limits: .init(completions: 4, admin: 1), steps: [
      (.admit(7, .completion), .admitted), (.admit(7, .completion), .duplicate), (.release(7), .released(close: false)),
      (.admit(7, .completion), .admitted),
    ]),
    Case(name: "a stale release does not free the id's new call", limits: .init(completions: 4, admin: 1), steps: [
      (.admit(7, .completion), .admitted), (.release(7), .released(close: false)), (.admit(7, .completion), .admitted),
      (.releaseStale(7), .released(close: false)), (.admit(7, .completion), .duplicate),
    ]),
    Case(name: "completions and admin have separate limits", limits: .init(completions: 2, admin: 1), steps: [
      (.admit(1, .completion), .admitted), (.admit(2, .completion), .admitted), (.admit(3, .completion), .overloaded),
      (.admit(4, .admin), .admitted), (.admit(5, .admin), .overloaded), (.release(1), .released(close: false)),
      (.admit(3, .completion), .admitted),
    ]),
    Case(name: "a cancel before attach cancels on attach", limits: .init(completions: 2, admin: 1), steps: [
      (.admit(1, .completion), .admitted), (.cancel(1), .cancels(nil)), (.attach(1, "t1"), .attached(cancelNow: true)),
    ]),
    Case(name: "a cancel after attach returns the handle; unknown ids nothing", limits: .init(completions: 2, admin: 1), steps: [
      (.admit(1, .completion), .admitted), (.attach(1, "t1"), .attached(cancelNow: false)), (.cancel(1), .cancels("t1")),
      (.cancel(9), .cancels(nil)), (.release(1), .released(close: false)), (.cancel(1), .cancels(nil)),
    ]),
    Case(name: "drain refuses new calls and closes after the last", limits: .init(completions: 2, admin: 1), steps: [
      (.admit(1, .completion), .admitted), (.drain, .released(close: false)), (.admit(2, .completion), .draining),
      (.admit(3, .admin), .draining), (.release(1), .released(close: true)),
    ]),
    Case(name: "drain of an idle connection closes at once", limits: .init(completions: 2, admin: 1), steps: [
      (.drain, .released(close: true)),
    ]),
    Case(name: "grace expiry hands back every open call and frees every slot", limits: .init(completions: 2, admin: 1), steps: [
      (.admit(3, .completion), .admitted), (.admit(1, .admin), .admitted), (.attach(3, "t3"), .attached(cancelNow: false)),
      (.expire, .expired([1, 3])), (.release(3), .released(close: false)), (.admit(4, .completion), .draining),
    ]),
  ]

  @Test(arguments: cases)
  func callTable(_ c: Case) {
    var t = CallTable<String>(limits: c.limits)
    var generations: [UInt64: UInt64] = [:]
    for (i, (op, expected)) in c.steps.enumerated() {
      let got: Outcome
      switch op {
      case .admit(let id, let kind):
        switch t.admit(id, kind: kind) {
        case .admitted(let g): generations[id] = g; got = .admitted
        case .duplicate: got = .duplicate
        case .overloaded: got = .overloaded
        case .draining: got = .draining
        }
      case .attach(let id, let h): got = .attached(cancelNow: t.attach(id, generation: generations[id] ?? 0, handle: h))
      case .cancel(let id): got = .cancels(t.cancel(id))
      case .release(let id): got = .released(close: t.release(id, generation: generations[id] ?? 0) == .close)
      case .releaseStale(let id): got = .released(close: t.release(id, generation: (generations[id] ?? 0) - 1) == .close)
      case .drain: got = .released(close: t.beginDrain() == .close)
      case .expire: got = .expired(t.expireAll().map(\.id))
      }
      #expect(got == expected, "step \(i) \(op)")
    }
    #expect(t.completions >= 0 && t.admins >= 0)
    #expect(t.completions + t.admins == t.open.count)
  }

  @Test func connectionTableLimitsAndDrain() {
    var t = ConnectionTable<String>(limit: 2)
    guard case .accepted(let a) = t.admit("a") else { Issue.record("a refused"); return }
    guard case .accepted = t.admit("b") else { Issue.record("b refused"); return }
    #expect(t.admit("c") == .full(limit: 2))
    t.remove(a)
    guard case .accepted = t.admit("c") else { Issue.record("c refused after a left"); return }
    t.limit = 3  // a reload raised the limit
    guard case .accepted = t.admit("d") else { Issue.record("d refused under the raised limit"); return }
    #expect(t.beginDrain() == ["b", "c", "d"])
    #expect(t.admit("e") == .draining)
  }
}
