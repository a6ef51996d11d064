import ConcordCore
import Logging
import ServiceLifecycle
import Synchronization

/// Keeps a process's `ReferenceData` current: loads it from the log at start, then follows the log, so that an
/// import by `concord reference import` or another process is seen here within a poll interval.
public final class ReferenceFollower: Service, Sendable {
    public let data: ReferenceData
    let store: EventStore
    let logger: Logger
    private let gate = Mutex<(loaded: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    public init(data: ReferenceData = ReferenceData(), store: EventStore, logger: Logger) {
        self.data = data
        self.store = store
        self.logger = logger
    }

    /// Returns once the catalog has been loaded from the log.
    public func ready() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let loaded = self.gate.withLock { gate -> Bool in
                if !gate.loaded { gate.waiters.append(continuation) }
                return gate.loaded
            }
            if loaded { continuation.resume() }
        }
    }

    public var isLoaded: Bool { self.gate.withLock { $0.loaded } }

    public func run() async throws {
        // Shutdown may come while the database is still unreachable: cancel the whole run, the load loop included.
        do {
            try await cancelWhenGracefulShutdown {
                let position = try await self.loadUntilItWorks()
                let waiters = self.gate.withLock { gate in
                    gate.loaded = true
                    defer { gate.waiters.removeAll() }
                    return gate.waiters
                }
                for waiter in waiters { waiter.resume() }
                try await self.follow(after: position)
            }
        } catch is CancellationError {
            return
        }
    }

    /// Applies reference events as they are appended. Losing the database (a restart, an outage) is not the end of
    /// the service, which would take the whole process down with it: follow again from the last event applied, once
    /// the database answers. An event that cannot be applied is an error in the log itself, and is thrown.
    private func follow(after start: Int64) async throws {
        var position = start
        var backoff = Backoff()
        while !Task.isCancelled {
            var events = self.store.subscribe(after: position).makeAsyncIterator()
            while true {
                let event: RecordedEvent?
                do {
                    event = try await events.next()
                } catch {
                    if Task.isCancelled { return }
                    self.logger.warning(
                        "reference data follower lost the database; following again",
                        metadata: ["error": "\(safeDescription(of: error))", "position": "\(position)"])
                    try await backoff.wait()
                    break
                }
                guard let event else { return }
                if event.stream.type == ReferenceEvent.streamType { try self.data.apply(event) }
                position = event.position
                backoff.reset()
            }
        }
    }

    /// The database may not answer yet when the service starts; keep trying.
    private func loadUntilItWorks() async throws -> Int64 {
        var backoff = Backoff()
        while true {
            do {
                // The head first: an event committed while loading is then read again by the follower, which is
                // harmless (a definition replaces the one with the same code), rather than missed.
                let head = try await self.store.head().position
                try await self.data.load(from: self.store)
                return head
            } catch {
                if Task.isCancelled { throw error }
                self.logger.warning(
                    "cannot load reference data yet", metadata: ["error": "\(safeDescription(of: error))"])
                try await backoff.wait()
            }
        }
    }
}
