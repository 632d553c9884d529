import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import SwiftProtobuf

/// A minimal OTLP/HTTP collector for the tests: listens on 127.0.0.1 (port 0),
/// accepts `POST /v1/traces` with `application/x-protobuf` bodies, decodes each
/// `ExportTraceServiceRequest` with the OTLP protobufs (generated from
/// opentelemetry-proto, `OTLP/Generated/`) and keeps the spans.
final class OTLPReceiver: Sendable {
  struct Received: Sendable {
    var path: String
    var contentType: String?
    var request: Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest
    var raw: [UInt8]
  }

  private let channel: any Channel
  private let received = Mutex<[Received]>([])
  private let rejected = Mutex<Int>(0)

  private init(channel: any Channel) { self.channel = channel }

  /// Starts a receiver on a free loopback port. `hang`: read requests and never
  /// answer (a collector that is stuck).
  static func start(hang: Bool = false) async throws -> OTLPReceiver {
    let holder = Mutex<OTLPReceiver?>(nil)
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .serverChannelOption(.backlog, value: 64)
      .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
      .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.configureHTTPServerPipeline()
          try channel.pipeline.syncOperations.addHandler(OTLPHandler(hang: hang) { holder.withLock { $0 } })
        }
      }
      .bind(host: "127.0.0.1", port: 0).get()
    let r = OTLPReceiver(channel: channel)
    holder.withLock { $0 = r }
    return r
  }

  /// The base URL to configure as `tracing.otlp_endpoint`.
  var endpoint: String { "http://127.0.0.1:\(channel.localAddress?.port ?? 0)" }

  /// Every export received, in order.
  var exports: [Received] { received.withLock { $0 } }
  /// Bodies that did not decode as an ExportTraceServiceRequest.
  var rejectedCount: Int { rejected.withLock { $0 } }

  /// Every span received, with its resource's attributes.
  var spans: [Opentelemetry_Proto_Trace_V1_Span] {
    exports.flatMap { $0.request.resourceSpans.flatMap { $0.scopeSpans.flatMap(\.spans) } }
  }

  /// `service.name` of every resource received.
  var serviceNames: Set<String> {
    Set(exports.flatMap { $0.request.resourceSpans.compactMap { rs in
      rs.resource.attributes.first { $0.key == "service.name" }?.value.stringValue
    } })
  }

  func accept(path: String, contentType: String?, body: [UInt8]) -> Bool {
    do {
      let request = try Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceRequest(serializedBytes: body)
      received.withLock { $0.append(Received(path: path, contentType: contentType, request: request, raw: body)) }
      return true
    } catch {
      rejected.withLock { $0 += 1 }
      return false
    }
  }

  func shutdown() async {
    try? await channel.close()
  }
}

/// One connection of the receiver: collects a request, decodes it, answers.
private final class OTLPHandler: ChannelInboundHandler {
  typealias InboundIn = HTTPServerRequestPart
  typealias OutboundOut = HTTPServerResponsePart

  private let receiver: @Sendable () -> OTLPReceiver?
  private let hang: Bool
  private var head: HTTPRequestHead?
  private var body = ByteBuffer()

  init(hang: Bool, _ receiver: @escaping @Sendable () -> OTLPReceiver?) { self.receiver = receiver; self.hang = hang }

  func channelRead(context: ChannelHandlerContext, data: NIOAny) {
    switch unwrapInboundIn(data) {
    case .head(let h):
      head = h
      body.clear()
    case .body(var b):
      body.writeBuffer(&b)
    case .end:
      guard let head, !hang else { return }
      let ok = head.method == .POST && receiver()?.accept(path: head.uri, contentType: head.headers.first(name: "content-type"),
                                                          body: Array(body.readableBytesView)) == true
      let payload = (try? Opentelemetry_Proto_Collector_Trace_V1_ExportTraceServiceResponse().serializedBytes() as [UInt8]) ?? []
      var headers = HTTPHeaders()
      headers.add(name: "content-type", value: "application/x-protobuf")
      headers.add(name: "content-length", value: String(payload.count))
      context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: ok ? .ok : .badRequest, headers: headers))),
                    promise: nil)
      context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: payload)))), promise: nil)
      context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
      self.head = nil
    }
  }
}

extension Opentelemetry_Proto_Trace_V1_Span {
  /// The attribute `key`, if present.
  func attribute(_ key: String) -> Opentelemetry_Proto_Common_V1_AnyValue? { attributes.first { $0.key == key }?.value }
  func string(_ key: String) -> String? { attribute(key).flatMap { if case .stringValue(let s)? = $0.value { return s }; return nil } }
  func int(_ key: String) -> Int64? { attribute(key).flatMap { if case .intValue(let i)? = $0.value { return i }; return nil } }
  func double(_ key: String) -> Double? { attribute(key).flatMap { if case .doubleValue(let d)? = $0.value { return d }; return nil } }
  func strings(_ key: String) -> [String]? {
    attribute(key).flatMap {
      guard case .arrayValue(let a)? = $0.value else { return nil }
      return a.values.compactMap { if case .stringValue(let s)? = $0.value { return s }; return nil }
    }
  }
}

/// Lowercase hex of `bytes` (trace and span ids).
func hex(_ bytes: Data) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
