import SwitchboardDaemon

// Before any NIO use or task: as many event loops as CPUs this process may use,
// and where Swift concurrency runs (SWITCHBOARD_EXECUTOR; docs/operations.md).
EventLoopSizing.matchCPUAffinity()
ConcurrencyExecutor.installFromEnvironment()
await SwitchboardD.main()
