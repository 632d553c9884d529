import Logging

/// The line format of the daemon's logs.
public enum LogFormat: String, Sendable, CaseIterable {
  /// `key=value` pairs (`LogfmtLogHandler`).
  case logfmt
  /// One JSON object per line (`JSONLogHandler`).
  case json
}

/// Sets up swift-log for the daemon: one line per record on stderr, secrets redacted.
public enum SwitchboardLogging {
  /// Installs the process-wide log handler factory. Call once, at startup
  /// (swift-log allows a single bootstrap per process).
  ///
  /// - Parameters:
  ///   - format: Line format.
  ///   - level: The minimum level written.
  ///   - metadataProvider: Contextual metadata added to every record; default none.
  public static func bootstrap(format: LogFormat, level: Logger.Level,
                               metadataProvider: Logger.MetadataProvider? = nil) {
    LoggingSystem.bootstrap({ label, provider in
      makeHandler(label: label, format: format, level: level, sink: nil, metadataProvider: provider)
    }, metadataProvider: metadataProvider)
  }

  /// Creates a handler without touching the global logging system (for tests and tools).
  ///
  /// - Parameters:
  ///   - label: The logger's label.
  ///   - format: Line format.
  ///   - level: The minimum level written.
  ///   - sink: Receives each line without its newline; `nil` writes to stderr.
  ///   - metadataProvider: Contextual metadata; default none.
  public static func makeHandler(label: String, format: LogFormat, level: Logger.Level,
                                 sink: (@Sendable (String) -> Void)?,
                                 metadataProvider: Logger.MetadataProvider? = nil) -> any LogHandler {
    switch format {
    case .logfmt: return LogfmtLogHandler(label: label, level: level, metadataProvider: metadataProvider, sink: sink)
    case .json: return JSONLogHandler(label: label, level: level, metadataProvider: metadataProvider, sink: sink)
    }
  }
}
