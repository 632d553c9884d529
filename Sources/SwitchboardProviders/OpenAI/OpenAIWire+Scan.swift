import NIOCore

extension OpenAIWire {
  /// Reads a Chat Completions answer or stream chunk in one pass, keeping only the
  /// members in ``Completion`` and skipping the rest. Same result as decoding the
  /// `Decodable` shape (`null` members are nil; a member of the wrong type throws).
  static func scanCompletion(_ buffer: ByteBuffer) throws -> Completion {
    try JSONScanner.withScanner(buffer) { s in try scanDocument(&s) }
  }

  /// ``scanCompletion(_:)`` of a text (one SSE `data:` payload).
  static func scanCompletion(_ text: String) throws -> Completion {
    try JSONScanner.withScanner(text) { s in try scanDocument(&s) }
  }

  private static func scanDocument(_ s: inout JSONScanner) throws -> Completion {
    guard try s.peekKind() == .object else { throw JSONScanner.Failure(offset: s.offset, what: "expected an object") }
    var c = Completion()
    try s.readObject { s, key in
      switch key {
      case "model": c.model = try s.readOptionalString()
      case "choices":
        guard try s.nonNull(.array) else { return }
        var choices: [Choice] = []
        try s.readArray { s, _ in choices.append(try scanChoice(&s)) }
        c.choices = choices
      case "usage": c.usage = try s.nullable()
      case "error": c.error = try s.nullable()
      case "x_groq":
        guard try s.nonNull(.object) else { return }
        var x = XGroq()
        try s.readObject { s, key in if key == "usage" { x.usage = try s.nullable() } else { try s.skipValue() } }
        c.x_groq = x
      default: try s.skipValue()
      }
    }
    try s.expectEnd()
    return c
  }

  private static func scanChoice(_ s: inout JSONScanner) throws -> Choice {
    guard try s.peekKind() == .object else { throw JSONScanner.Failure(offset: s.offset, what: "expected a choice object") }
    var choice = Choice()
    try s.readObject { s, key in
      switch key {
      case "index": choice.index = try s.readOptionalInt()
      case "message": choice.message = try scanMessage(&s)
      case "delta": choice.delta = try scanMessage(&s)
      case "finish_reason": choice.finish_reason = try s.readOptionalString()
      default: try s.skipValue()
      }
    }
    return choice
  }

  private static func scanMessage(_ s: inout JSONScanner) throws -> Message? {
    guard try s.nonNull(.object) else { return nil }
    var m = Message()
    try s.readObject { s, key in
      switch key {
      case "content": m.content = try s.readOptionalString()
      case "tool_calls":
        guard try s.nonNull(.array) else { return }
        var parts: [ToolCallPart] = []
        try s.readArray { s, _ in
          guard try s.peekKind() == .object else { throw JSONScanner.Failure(offset: s.offset, what: "expected a tool call") }
          var part = ToolCallPart()
          try s.readObject { s, key in
            switch key {
            case "index": part.index = try s.readOptionalInt()
            case "id": part.id = try s.readOptionalString()
            case "function":
              guard try s.nonNull(.object) else { return }
              var f = FunctionPart()
              try s.readObject { s, key in
                switch key {
                case "name": f.name = try s.readOptionalString()
                case "arguments": f.arguments = try s.readOptionalString()
                default: try s.skipValue()
                }
              }
              part.function = f
            default: try s.skipValue()
            }
          }
          parts.append(part)
        }
        m.tool_calls = parts
      default: try s.skipValue()
      }
    }
    return m
  }


}
