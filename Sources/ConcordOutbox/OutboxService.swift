import ConcordStore
import Logging
import ServiceLifecycle

/// Runs the outbox in a `concord serve` process while it holds the projection lease (`isLeader`): one sender across
/// nodes. Wakes on every commit (an acknowledgement leaves within a second of the lodgement) and at least every
/// `idleInterval` (retries whose time has come).
public struct OutboxService: Service {
    let outbox: Outbox
    let store: EventStore
    let isLeader: @Sendable () -> Bool
    /// Waits for the reference data (the due dates of acknowledgements come from its service levels).
    let ready: @Sendable () async -> Void
    let idleInterval: Duration
    let logger: Logger

    public init(
        outbox: Outbox, store: EventStore, isLeader: @escaping @Sendable () -> Bool,
        ready: @escaping @Sendable () async -> Void = {}, idleInterval: Duration = .milliseconds(500), logger: Logger
    ) {
        self.outbox = outbox
        self.store = store
        self.isLeader = isLeader
        self.ready = ready
        self.idleInterval = idleInterval
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await self.loop() }
        } catch is CancellationError {
            return
        }
    }

    private func loop() async throws {
        var backoff = Backoff(initial: .milliseconds(200), maximum: .seconds(5))
        await self.ready()
        while !Task.isCancelled {
            let generation = self.store.commitGeneration
            guard self.isLeader() else {
                await self.store.waitForCommits(since: generation, timeout: self.idleInterval)
                continue
            }
            do {
                while try await self.outbox.follow() > 0 {}
                try await self.outbox.sendDue()
                backoff.reset()
                await self.store.waitForCommits(since: generation, timeout: self.idleInterval)
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                self.logger.warning(
                    "outbox pass failed; trying again", metadata: ["error": "\(safeDescription(of: error))"])
                try await backoff.wait()
            }
        }
    }
}
