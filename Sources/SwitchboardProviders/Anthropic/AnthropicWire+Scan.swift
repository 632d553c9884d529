import NIOCore

extension AnthropicWire {
  /// Reads a Messages answer in one pass (only the members of ``Message``); same
  /// result as the `Decodable` shape, `null` members nil, wrong types throw.
  static func scanMessage(_ buffer: ByteBuffer) throws -> Message {
    try JSONScanner.withScanner(buffer) { s in
      let m = try scanMessageObject(&s)
      try s.expectEnd()
      guard let m else { throw JSONScanner.Failure(offset: 0, what: "null message") }
      return m
    }
  }

  /// Reads one stream event (an SSE `data:` payload).
  static func scanEvent(_ text: String) throws -> Event {
    try JSONScanner.withScanner(text) { s in
      try requireObject(&s)
      var type: String?
      var e = Event(type: "")
      try s.readObject { s, key in
        switch key {
        case "type": type = try s.readString()
        case "index": e.index = try s.readOptionalInt()
        case "message": e.message = try scanMessageObject(&s)
        case "content_block": e.content_block = try scanBlock(&s)
        case "delta":
          guard try s.nonNull(.object) else { return }
          var d = Delta()
          try s.readObject { s, key in
            switch key {
            case "type": d.type = try s.readOptionalString()
            case "text": d.text = try s.readOptionalString()
            case "partial_json": d.partial_json = try s.readOptionalString()
            case "stop_reason": d.stop_reason = try s.readOptionalString()
            default: try s.skipValue()
            }
          }
          e.delta = d
        case "usage": e.usage = try s.nullable()
        case "error": e.error = try s.nullable()
        default: try s.skipValue()
        }
      }
      try s.expectEnd()
      guard let type else { throw JSONScanner.Failure(offset: s.offset, what: "event without type") }
      e.type = type
      return e
    }
  }

  private static func scanMessageObject(_ s: inout JSONScanner) throws -> Message? {
    guard try s.nonNull(.object) else { return nil }
    var m = Message()
    try s.readObject { s, key in
      switch key {
      case "type": m.type = try s.readOptionalString()
      case "model": m.model = try s.readOptionalString()
      case "content":
        guard try s.nonNull(.array) else { return }
        var blocks: [Block] = []
        try s.readArray { s, _ in
          guard let b = try scanBlock(&s) else { throw JSONScanner.Failure(offset: s.offset, what: "null block") }
          blocks.append(b)
        }
        m.content = blocks
      case "stop_reason": m.stop_reason = try s.readOptionalString()
      case "usage": m.usage = try s.nullable()
      case "error": m.error = try s.nullable()
      default: try s.skipValue()
      }
    }
    return m
  }

  private static func scanBlock(_ s: inout JSONScanner) throws -> Block? {
    guard try s.nonNull(.object) else { return nil }
    var type: String?
    var b = Block(type: "")
    try s.readObject { s, key in
      switch key {
      case "type": type = try s.readString()
      case "text": b.text = try s.readOptionalString()
      case "id": b.id = try s.readOptionalString()
      case "name": b.name = try s.readOptionalString()
      case "input": b.input = try s.nullable()
      default: try s.skipValue()
      }
    }
    guard let type else { throw JSONScanner.Failure(offset: s.offset, what: "content block without type") }
    b.type = type
    return b
  }

  private static func requireObject(_ s: inout JSONScanner) throws {
    guard try s.peekKind() == .object else { throw JSONScanner.Failure(offset: s.offset, what: "expected an object") }
  }


}
