import ConcordCore
import ConcordStore
import ConcordTestSupport
import Logging
import PostgresNIO
import ServiceLifecycle
import Testing

@Suite(.timeLimit(.minutes(2))) struct ShutdownTests {
    /// Graceful shutdown stops taking appends but commits those already queued before the client closes.
    @Test func gracefulShutdownFinishesQueuedAppends() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let logger = TestDatabases.logger
        let client = PostgresClient(configuration: settings.service, backgroundLogger: logger)
        let store = EventStore(client: client, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [client, store], logger: logger))
        let outcomes = try await withThrowingTaskGroup(of: [String].self) { tasks in
            tasks.addTask {
                try await group.run()
                return []
            }
            let appenders = (0..<200).map { index in
                Task {
                    do {
                        _ = try await store.append(
                            to: StreamName(type: "c", id: "\(index)"), expectedVersion: .noStream, events: [event()])
                        return "ok"
                    } catch let error as EventStoreError {
                        return error.code.description
                    } catch {
                        return "unexpected: \(safeDescription(of: error))"
                    }
                }
            }
            // Shut down once the first append has landed, while the others are still arriving.
            _ = await appenders[0].value
            await group.triggerGracefulShutdown()
            var results: [String] = []
            for appender in appenders { results.append(await appender.value) }
            try await tasks.waitForAll()
            return results
        }
        #expect(outcomes.allSatisfy { $0 == "ok" || $0 == "shuttingDown" }, "\(Set(outcomes))")
        let committed = outcomes.filter { $0 == "ok" }.count
        #expect(committed > 0)
        let head = try await withStore(settings: settings) { reader in try await reader.head().position }
        #expect(head == Int64(committed))
    }
}
