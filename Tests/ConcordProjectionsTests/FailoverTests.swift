import ConcordCore
import ConcordProjections
import ConcordStore
import ConcordTestSupport
import ConcordWorkload
import PostgresNIO
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(2))) struct FailoverTests {
    /// Two "processes" (each its own connection pool, store and runner) on one database: exactly one holds the
    /// lease and projects; when it dies (its connections close), the other takes over within 5 seconds and carries
    /// on from the checkpoint without missing or repeating an event.
    @Test func anotherRunnerTakesOverWhenTheLeaderDies() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let logger = TestDatabases.logger
        try await withStore(settings: settings) { writer in
            try await Workload.appendReference(to: writer, at: Day.start)
            let cases = Cases(store: writer)
            let queries = ProjectionQueries(client: writer.client, logger: logger)
            let runners = [ProcessBox(), ProcessBox()]
            defer { runners.forEach { $0.kill() } }
            for box in runners {
                // Each its own pool, store and runner: as separate `concord serve` processes are.
                box.start {
                    try await withStore(settings: settings, pollInterval: .milliseconds(100)) { store in
                        let runner = ProjectionRunner(
                            client: store.client, store: store, escalator: nil, logger: logger,
                            leaseRetry: .milliseconds(200), pollInterval: .milliseconds(100))
                        box.runner.withLock { $0 = runner }
                        try await runner.run()
                    }
                }
            }
            try await waitUntil(settings) { runners.filter(\.isLeader).count == 1 }
            try await cases.complaint("C-A", [.lodge(Cases.lodgement(programme: "CCT", at: Day.at(0)))])
            try await waitUntil(settings) { try await queries.lag().eventsBehind == 0 }
            #expect(runners.filter(\.isLeader).count == 1, "never two leaders")

            // The leader dies: its task is cancelled, its connections close, and its lease goes with them.
            let leader = try #require(runners.firstIndex { $0.isLeader })
            let started = ContinuousClock.now
            runners[leader].kill()
            try await cases.complaint("C-B", [.lodge(Cases.lodgement(programme: "CCT", at: Day.at(1)))])
            try await waitUntil(settings) { runners[1 - leader].isLeader }
            try await waitUntil(settings) { try await queries.lag().eventsBehind == 0 }
            #expect(ContinuousClock.now - started < .seconds(5))
            var filter = CaseFilter()
            filter.kind = "complaint"
            let page = try await queries.cases(
                scope: .everything, filter: filter, order: .newest, after: nil, limit: 10, now: Day.at(2))
            #expect(Set(page.items.map(\.id)) == ["C-A", "C-B"])
        }
    }
}

/// A runner in a task that the test can kill, as a process dies: everything it holds is torn down.
final class ProcessBox: Sendable {
    let runner = Mutex<ProjectionRunner?>(nil)
    private let task = Mutex<Task<Void, any Error>?>(nil)
    private let killed = Mutex(false)

    func start(_ body: @escaping @Sendable () async throws -> Void) {
        self.task.withLock { $0 = Task { try await body() } }
    }

    var isLeader: Bool { !self.killed.withLock { $0 } && (self.runner.withLock { $0 }?.isLeader ?? false) }

    func kill() {
        self.killed.withLock { $0 = true }
        self.task.withLock { $0 }?.cancel()
    }
}
