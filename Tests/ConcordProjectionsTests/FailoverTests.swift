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
    /// lease and projects, at every moment sampled from the start to the end; when it dies (its connections
    /// close), the other takes over within 5 seconds and carries on from the checkpoint without missing or
    /// repeating an event: the tables then equal a rebuild from scratch.
    @Test func anotherRunnerTakesOverWhenTheLeaderDies() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let logger = TestDatabases.logger
        try await withStore(settings: settings) { writer in
            try await Workload.appendReference(to: writer, at: Day.start)
            let cases = Cases(store: writer)
            let queries = ProjectionQueries(client: writer.client, logger: logger)
            let runners = [ProcessBox(), ProcessBox()]
            defer { runners.forEach { $0.kill() } }
            // Counts the leaders over and over for the whole test, so that two at once cannot slip between checks.
            let sampler = LeaderSampler(runners)
            defer { sampler.stop() }
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
            try await cases.complaint(
                "C-A",
                [
                    .lodge(Cases.lodgement(programme: "CCT", at: Day.at(0))), .acknowledge(at: Day.at(0.1)),
                    .addNote(text: "first note", at: Day.at(0.2)),
                ])
            try await waitUntil(settings) { try await queries.lag().eventsBehind == 0 }

            // The leader dies: its task is cancelled, its connections close, and its lease goes with them.
            let leader = try #require(runners.firstIndex { $0.isLeader })
            let started = ContinuousClock.now
            runners[leader].kill()
            try await cases.complaint("C-B", [.lodge(Cases.lodgement(programme: "CCT", at: Day.at(1)))])
            try await cases.complaint(
                "C-A",
                [
                    .assign(programme: "CCT", officer: nil, at: Day.at(1.1)),
                    .escalate(toArea: "D-11", reason: "overdue", at: Day.at(1.2)),
                ])
            try await waitUntil(settings) { runners[1 - leader].isLeader }
            try await waitUntil(settings) { try await queries.lag().eventsBehind == 0 }
            #expect(ContinuousClock.now - started < .seconds(5))
            sampler.stop()
            #expect(sampler.samples > 10, "the sampler ran")
            #expect(sampler.mostLeadersAtOnce == 1, "never two leaders (\(sampler.samples) samples)")

            // Nothing missed, nothing applied twice: the live tables are what a rebuild from scratch gives.
            try await PostgresClient.withRunning(settings.owner, logger: logger) { owner in
                let rebuild = ProjectionRebuild(
                    client: owner, store: EventStore(client: owner, logger: logger), logger: logger)
                _ = try await rebuild.buildAside()
                let live = try await RebuildTests.dump(owner, CaseTables.live.schema)
                let rebuilt = try await RebuildTests.dump(owner, CaseTables.rebuild.schema)
                #expect(live.count == 2 && live == rebuilt)
            }
        }
    }
}

/// Samples how many of `runners` lead, until stopped: the most seen at once, and how many samples were taken.
final class LeaderSampler: Sendable {
    private let state = Mutex<(most: Int, samples: Int, stopped: Bool)>((0, 0, false))

    init(_ runners: [ProcessBox]) {
        Task { [self] in
            while !self.state.withLock({ $0.stopped }) {
                let leaders = runners.filter(\.isLeader).count
                self.state.withLock { state in
                    state.most = max(state.most, leaders)
                    state.samples += 1
                }
                // A sampling period, not a wait for work: the sampler only watches.
                try? await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    var mostLeadersAtOnce: Int { self.state.withLock { $0.most } }
    var samples: Int { self.state.withLock { $0.samples } }
    func stop() { self.state.withLock { $0.stopped = true } }
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
