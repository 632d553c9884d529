/// User outbound events that steer a connection handler's reading.

/// Sent down the pipeline by the serving task when it has caught up with the frames.
struct ResumeReadingEvent: Sendable {}

/// Sent down the pipeline when the daemon drains: the connection keeps reading
/// (new calls are answered `UNAVAILABLE draining`, so frames a client pipelined
/// before the shutdown still get an answer) and closes once it has been quiet —
/// no open call, nothing queued, no frame — for `ConnectionHandler.quietPeriod`.
struct QuiesceEvent: Sendable {}
