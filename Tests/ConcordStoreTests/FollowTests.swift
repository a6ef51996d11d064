import ConcordCore
import ConcordStore
import ConcordTestSupport
import Foundation
import PostgresNIO
import Testing

/// Collects `count` events from a subscription. The suites' time limits bound the wait.
func follow(_ store: EventStore, after position: Int64 = 0, count: Int) async throws -> [RecordedEvent] {
    var seen: [RecordedEvent] = []
    for try await event in store.subscribe(after: position, pageSize: 97) {
        seen.append(event)
        if seen.count == count { break }
    }
    return seen
}

@Suite(.timeLimit(.minutes(2))) struct FollowTests {
    @Test func aFollowerSeesEveryPositionOnceInOrderWhileFourProcessesAppend() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let processes = 4
        let tasksPerProcess = 8
        let appendsPerTask = 25
        let total = processes * tasksPerProcess * appendsPerTask
        try await withStore(settings: settings, pollInterval: .seconds(5)) { follower in
            // The follower starts first and so must catch events committed by other writers while it reads.
            async let followed = follow(follower, count: total)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for process in 0..<processes {
                    group.addTask {
                        try await withStore(settings: settings) { store in
                            try await withThrowingTaskGroup(of: Void.self) { tasks in
                                for task in 0..<tasksPerProcess {
                                    tasks.addTask {
                                        let stream = StreamName(type: "referral", id: "p\(process)-t\(task)")
                                        for index in 0..<appendsPerTask {
                                            _ = try await store.append(
                                                to: stream,
                                                expectedVersion: index == 0 ? .noStream : .exact(Int64(index)),
                                                events: [event()])
                                        }
                                    }
                                }
                                try await tasks.waitForAll()
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let seen = try await followed
            #expect(seen.map(\.position) == Array(1...Int64(total)))
            let table = try await follower.readAll(after: 0, limit: total + 10)
            #expect(seen == table)
            let report = try await follower.verify()
            #expect(report.isSound)
            #expect(report.eventsChecked == total)
            #expect(report.streams == processes * tasksPerProcess)
        }
    }

    @Test func aFollowerIsWokenByAnotherProcessesCommitWithoutWaitingForThePoll() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        // A poll interval far beyond the suite's time limit: only LISTEN/NOTIFY can deliver in time.
        try await withStore(settings: settings, pollInterval: .seconds(600)) { follower in
            try await withStore(settings: settings) { writer in
                async let followed = follow(follower, count: 3)
                for index in 0..<3 {
                    _ = try await writer.append(
                        to: StreamName(type: "c", id: "\(index)"), expectedVersion: .noStream, events: [event()])
                }
                #expect(try await followed.map(\.position) == [1, 2, 3])
            }
        }
    }

    /// A follower whose notifications never arrive (its store does not LISTEN at all: the worst case of a lost
    /// notification) still sees another process's commits, by polling every `pollInterval`.
    @Test func aFollowerFallsBackOnPollingWhenANotificationIsLost() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await PostgresClient.withRunning(settings.service, logger: TestDatabases.logger) { client in
            // The store's `run()` (its writer and its LISTEN connection) is never started.
            let deaf = EventStore(client: client, logger: TestDatabases.logger, pollInterval: .milliseconds(200))
            try await withStore(settings: settings) { writer in
                async let followed = follow(deaf, count: 3)
                for index in 0..<3 {
                    _ = try await writer.append(
                        to: StreamName(type: "c", id: "\(index)"), expectedVersion: .noStream, events: [event()])
                }
                let started = ContinuousClock.now
                #expect(try await followed.map(\.position) == [1, 2, 3])
                // Well within the suite's limit, and bounded by the poll, not by a wake-up that never comes.
                #expect(ContinuousClock.now - started < .seconds(10))
            }
        }
    }

    @Test func aFollowerCatchesUpFromAPosition() async throws {
        try await withStore { store, _ in
            for index in 0..<10 {
                _ = try await store.append(
                    to: StreamName(type: "c", id: "\(index)"), expectedVersion: .noStream, events: [event()])
            }
            #expect(try await follow(store, after: 6, count: 4).map(\.position) == [7, 8, 9, 10])
        }
    }
}

@Suite(.timeLimit(.minutes(3))) struct MultiProcessTests {
    /// Real operating-system processes (`concord bench writer`), each with its own pool and group-commit writer.
    @Test func aFollowerSeesEveryEventOfFourRealProcessesOnceInOrder() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let processes = 4
        let tasks = 8
        let appends = 25
        let total = processes * tasks * appends
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL(for: settings.service)
        environment["LOG_LEVEL"] = "error"
        let childEnvironment = environment
        try await withStore(settings: settings, pollInterval: .seconds(5)) { follower in
            async let followed = follow(follower, count: total)
            let results = try await withThrowingTaskGroup(of: (Int32, String).self) { group in
                for process in 0..<processes {
                    group.addTask {
                        try await runProcess(
                            concordExecutable,
                            [
                                "bench", "writer", "--stream-prefix", "p\(process)", "--tasks", "\(tasks)", "--appends",
                                "\(appends)",
                            ],
                            environment: childEnvironment)
                    }
                }
                return try await group.reduce(into: [(Int32, String)]()) { $0.append($1) }
            }
            for (status, output) in results { #expect(status == 0, "\(output)") }
            let seen = try await followed
            #expect(seen.map(\.position) == Array(1...Int64(total)))
            #expect(Set(seen.map(\.stream)).count == processes * tasks)
            #expect(seen == (try await follower.readAll(after: 0, limit: total + 10)))
            #expect(try await follower.verify().isSound)
        }
    }
}
