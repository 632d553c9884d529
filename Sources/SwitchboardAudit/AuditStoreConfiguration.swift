/// How an ``AuditStore`` opens its database and commits events.
public struct AuditStoreConfiguration: Sendable, Hashable {
  /// How hard a commit is pushed to disk.
  public enum Synchronous: String, Sendable, Hashable {
    /// `PRAGMA synchronous = FULL`: a committed batch survives a process crash and
    /// a power loss or OS crash (one fsync of the WAL per batch).
    case full
    /// `PRAGMA synchronous = NORMAL`: a committed batch survives a process crash
    /// (SIGKILL, panic); the last batches may be lost on a power loss or OS crash.
    case normal
  }

  /// The SQLite file. Empty (the default) keeps the store in memory: nothing survives the process.
  public var path: String
  /// Whether `record` suspends until the batch holding the event is committed.
  /// Default `true`: a response is only sent once its decision row is durable.
  /// With `false`, `record` returns as soon as the event is queued; a crash may lose
  /// the events of the batch being written and everything still queued.
  public var durableResponses: Bool
  /// The most events written in one transaction. Default 256.
  public var batchMax: Int
  /// How hard commits are synced. Default `.full`.
  public var synchronous: Synchronous
  /// How long a connection waits on a lock held by another process before failing. Default 5 s.
  public var busyTimeoutSeconds: Double

  /// Creates a configuration; every field has the default documented on it.
  public init(path: String = "", durableResponses: Bool = true, batchMax: Int = 256,
              synchronous: Synchronous = .full, busyTimeoutSeconds: Double = 5) {
    self.path = path
    self.durableResponses = durableResponses
    self.batchMax = batchMax
    self.synchronous = synchronous
    self.busyTimeoutSeconds = busyTimeoutSeconds
  }
}
