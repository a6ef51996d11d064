import Logging
import ServiceLifecycle

/// A service under a name, which says so when it is still running at the end of the shutdown grace: the group
/// cancels what has not stopped by then, and a process that then overruns the cancellation limit is killed
/// without saying why. The name in the log is what to fix.
public struct NamedService: Service, CustomStringConvertible {
    public let description: String
    let service: any Service
    let logger: Logger

    public init(_ name: String, _ service: any Service, logger: Logger) {
        self.description = name
        self.service = service
        self.logger = logger
    }

    public func run() async throws {
        let (name, logger) = (self.description, self.logger)
        try await withTaskCancellationHandler {
            try await self.service.run()
        } onCancel: {
            // Services stop on graceful shutdown by themselves; only the group's last resort cancels this task.
            logger.error("service still running when cancelled: \(name)", metadata: ["service": "\(name)"])
        }
    }
}
