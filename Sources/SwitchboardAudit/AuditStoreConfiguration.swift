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
  /// In-memory store (empty `path`) only: the most bytes of decisions it keeps; the
  /// oldest are evicted beyond it. Default ``defaultMemoryBudgetBytes``.
  public var memoryBudgetBytes: Int

  /// File store with `durableResponses: false`: how many events may wait for the
  /// writer before `record` waits for the commit anyway (backpressure). Default
  /// ``defaultMaxQueuedEvents``.
  public var maxQueuedEvents: Int

  /// 8,192 events (a few MB): room for bursts, a bound for a writer that falls behind.
  public static let defaultMaxQueuedEvents = 8_192

  /// 8 MiB: about 5,000–10,000 recent decisions (a one-attempt decision is about
  /// 1–1.5 KB). With the daemon's own ~40 MB this keeps the in-memory sidecar under
  /// 60 MB after any number of requests (58.7 MB after 1M in `bench/memory.sh`; 16 MiB
  /// gave 70.7 MB), far inside a 256 Mi container limit, leaving
  /// the rest for concurrent streams. Use a file store for a longer history.
  public static let defaultMemoryBudgetBytes = 8 << 20

  /// Creates a configuration; every field has the default documented on it.
  public init(path: String = "", durableResponses: Bool = true, batchMax: Int = 256,
              synchronous: Synchronous = .full, busyTimeoutSeconds: Double = 5,
              memoryBudgetBytes: Int = AuditStoreConfiguration.defaultMemoryBudgetBytes,
              maxQueuedEvents: Int = AuditStoreConfiguration.defaultMaxQueuedEvents) {
    self.path = path
    self.durableResponses = durableResponses
    self.batchMax = batchMax
    self.synchronous = synchronous
    self.busyTimeoutSeconds = busyTimeoutSeconds
    self.memoryBudgetBytes = memoryBudgetBytes
    self.maxQueuedEvents = maxQueuedEvents
  }
}
