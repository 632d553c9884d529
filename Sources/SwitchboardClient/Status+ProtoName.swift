import SwitchboardWire

extension Switchboard_V1_Status.Code {
  /// The code's name as the proto spells it (`NOT_FOUND`), the one naming every
  /// client (CLI, shell, Python, C) prints.
  public var protoName: String {
    switch self {
    case .ok: return "OK"
    case .cancelled: return "CANCELLED"
    case .invalidArgument: return "INVALID_ARGUMENT"
    case .deadlineExceeded: return "DEADLINE_EXCEEDED"
    case .notFound: return "NOT_FOUND"
    case .permissionDenied: return "PERMISSION_DENIED"
    case .resourceExhausted: return "RESOURCE_EXHAUSTED"
    case .failedPrecondition: return "FAILED_PRECONDITION"
    case .unavailable: return "UNAVAILABLE"
    case .internal: return "INTERNAL"
    case .unauthenticated: return "UNAUTHENTICATED"
    case .overloaded: return "OVERLOADED"
    case .protocolError: return "PROTOCOL_ERROR"
    case .upstreamRejected: return "UPSTREAM_REJECTED"
    case .UNRECOGNIZED(let n): return "CODE_\(n)"
    }
  }
}
