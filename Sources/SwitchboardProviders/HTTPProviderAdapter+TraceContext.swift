import NIOHTTP1
import SwitchboardCore

extension HTTPProviderAdapter {
  /// Sets the W3C `traceparent` / `tracestate` headers of the attempt (replacing any
  /// configured header of the same name: the attempt's context is the true parent).
  /// The values were validated by the daemon before they reached the call.
  static func addTraceContext(_ call: ProviderCall, to headers: inout HTTPHeaders) {
    guard let tp = call.traceParent else { return }
    headers.replaceOrAdd(name: "traceparent", value: tp)
    if let ts = call.traceState, !ts.isEmpty {
      headers.replaceOrAdd(name: "tracestate", value: ts)
    } else {
      headers.remove(name: "tracestate")
    }
  }

  /// The trace-id field of a (validated) `traceparent`, for log metadata.
  static func traceID(ofTraceParent tp: String) -> Substring {
    let parts = tp.split(separator: "-")
    return parts.count == 4 ? parts[1] : ""
  }
}
