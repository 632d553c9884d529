import ArgumentParser
import Foundation
import SwitchboardTestKit

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs the fake LLM provider (OpenAI and Anthropic wire formats) until SIGTERM/SIGINT.
@main
struct FakeProviderCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "fake-provider",
    abstract: "A fake LLM provider (OpenAI Chat Completions and Anthropic Messages) with scripted faults.",
    discussion: """
      Script file (JSON): {"sequence": [FAULT, ...], "models": {"MODEL": [FAULT, ...]}}
      FAULT: {"fault": "status", "status": 503, "body": "...", "retry_after": "2"} | {"fault": "rate_limited", "retry_after": "1"}
        | {"fault": "hang"} | {"fault": "reset_before_headers"} | {"fault": "slow_first_token", "ms": 500}
        | {"fault": "stream_cut" | "stall" | "keep_alives_only" | "malformed_chunk" | "stream_error", "after_chunks": 2}
        | {"fault": "missing_terminator" | "reject_prefill" | "context_length_exceeded" | "content_policy"
           | "content_filter_finish"
           | "unauthorized" | "model_not_found" | "ok"}
      """)

  @Option(help: "Port to listen on (0 = ephemeral).")
  var port: Int = 0

  @Option(help: "Address to bind.")
  var host: String = "127.0.0.1"

  @Option(help: "Fault script (JSON).")
  var script: String?

  @Option(help: "Cached input tokens to report per answer.")
  var cachedTokens: Int = 0

  @Option(help: "Milliseconds between streamed events.")
  var chunkIntervalMs: Int = 0

  @Option(help: "Serve HTTPS with the built-in test certificate (127.0.0.1, localhost) and write its CA (PEM) to this file, for the client's ca_file. Test material only.")
  var tlsTestCA: String?

  func run() async throws {
    var faults = FakeScript()
    if let script {
      let data = try Data(contentsOf: URL(fileURLWithPath: script))
      do {
        faults = try JSONDecoder().decode(FakeScript.self, from: data)
      } catch {
        throw ValidationError("invalid script \(script): \(error)")
      }
    }
    var configuration = FakeProvider.Configuration()
    configuration.host = host
    configuration.port = port
    configuration.cachedInputTokens = cachedTokens
    configuration.chunkInterval = .milliseconds(chunkIntervalMs)
    if let tlsTestCA {
      try TestCertificates.caPEM.write(toFile: tlsTestCA, atomically: true, encoding: .utf8)
      configuration.tls = (TestCertificates.serverPEM, TestCertificates.serverKeyPEM)
    }
    let provider = FakeProvider(configuration: configuration, script: faults)
    try await provider.start()
    FileHandle.standardOutput.write(Data((provider.baseURL + "\n").utf8))

    let signals = AsyncStream<Int32> { continuation in
      let sources = [SIGTERM, SIGINT].map { sig in
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        source.setEventHandler { continuation.yield(sig) }
        source.resume()
        return source
      }
      nonisolated(unsafe) let retained = sources
      continuation.onTermination = { _ in retained.forEach { $0.cancel() } }
    }
    for await sig in signals {
      FileHandle.standardError.write(Data("fake-provider: signal \(sig), shutting down\n".utf8))
      break
    }
    try await provider.shutdown()
  }
}
