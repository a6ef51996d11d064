import ConcordCore
import ConcordStore
import ConcordTestSupport
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(2))) struct ShutdownTests {
    /// Graceful shutdown stops taking appends but commits those already queued before the client closes. The
    /// writer is held up by a lock on the log, so that the first appends are known to sit in the queue when the
    /// shutdown begins: each of them must be committed, each append sent after it must be refused, and the log must
    /// hold exactly the appends that were answered with a result.
    @Test func gracefulShutdownCommitsWhatWasQueuedAndRefusesWhatCameAfter() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let logger = TestDatabases.logger
        let client = PostgresClient(configuration: settings.service, backgroundLogger: logger)
        let store = EventStore(client: client, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [client, store], logger: logger))
        let lockTaken = AsyncStream<Void>.makeStream()
        let release = AsyncStream<Void>.makeStream()
        let (queued, late) = try await withThrowingTaskGroup(of: [String: String].self) { tasks in
            tasks.addTask {
                try await group.run()
                return [:]
            }
            // The owner holds the log locked until told to let go: the writer's first batch waits on it.
            tasks.addTask {
                try await PostgresClient.withRunning(settings.owner, logger: logger) { owner in
                    try await owner.withTransaction(logger: logger) { connection in
                        try await connection.query("LOCK TABLE events IN EXCLUSIVE MODE", logger: logger)
                        lockTaken.continuation.yield()
                        for await _ in release.stream { break }
                    }
                }
                return [:]
            }
            for await _ in lockTaken.stream { break }
            func append(_ id: String) -> Task<String, Never> {
                Task {
                    do {
                        _ = try await store.append(
                            to: StreamName(type: "c", id: id), expectedVersion: .noStream, events: [event()])
                        return "ok"
                    } catch let error as EventStoreError {
                        return error.code.description
                    } catch {
                        return "unexpected: \(safeDescription(of: error))"
                    }
                }
            }
            // The first append is the writer's (stuck) batch; the next 50 wait in the queue behind it.
            let first = append("first")
            try await PostgresClient.withRunning(settings.owner, logger: logger) { owner in
                try await poll("the writer to wait on the lock", every: .milliseconds(5)) {
                    let rows = try await owner.query(
                        "SELECT count(*) FROM pg_locks WHERE relation = 'events'::regclass AND NOT granted",
                        logger: logger)
                    for try await count in rows.decode(Int64.self) { return count > 0 }
                    return false
                }
            }
            let early = (0..<50).map { append("early-\($0)") }
            try await poll("50 appends queued", every: .milliseconds(5)) { store.pendingAppends >= 50 }
            await group.triggerGracefulShutdown()
            try await poll("the store to stop taking appends", every: .milliseconds(5)) { !store.acceptsAppends }
            let after = (0..<20).map { append("late-\($0)") }
            var late: [String: String] = [:]
            for (index, task) in after.enumerated() { late["late-\(index)"] = await task.value }
            release.continuation.yield()
            var queued: [String: String] = ["first": await first.value]
            for (index, task) in early.enumerated() { queued["early-\(index)"] = await task.value }
            try await tasks.waitForAll()
            return (queued, late)
        }
        let answered = Set((queued.merging(late) { first, _ in first }).filter { $0.value == "ok" }.keys)
        #expect(
            queued.filter { $0.key.hasPrefix("early") || $0.key == "first" }.allSatisfy { $0.value == "ok" },
            "queued before the shutdown, yet not committed: \(queued.filter { $0.value != "ok" })")
        #expect(late.values.allSatisfy { $0 == "shuttingDown" }, "sent after the shutdown: \(late)")
        let stored = try await withStore(settings: settings) { reader in
            Set(try await reader.readAll(after: 0, limit: 1_000).map(\.stream.id))
        }
        #expect(stored == answered, "in the log but not answered ok, or the reverse")
        #expect(stored.count >= 51)
    }
}
