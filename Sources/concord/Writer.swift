import ArgumentParser
import ConcordCore
import ConcordStore
import Foundation
import PostgresNIO

/// Appends from one process, for tests and load runs that need several real processes writing to one log:
/// `--tasks` concurrent tasks, each appending `--appends` events to its own stream with exact expected versions.
struct WriterLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "writer", abstract: "Append load from this process (for multi-process tests).",
        shouldDisplay: false)

    @Option(help: "Prefix of the stream ids this process appends to.") var streamPrefix: String
    @Option(help: "Concurrent tasks.") var tasks: Int = 8
    @Option(help: "Appends per task.") var appends: Int = 25

    func run() async throws {
        let logger = makeLogger("concord")
        guard
            let settings = try failingSync({ try DatabaseSettings.fromEnvironment(ProcessInfo.processInfo.environment) }
            )
        else { throw ValidationFailure(message: "set DATABASE_URL: this command does not start a private cluster") }
        let tasks = self.tasks
        let appends = self.appends
        let prefix = self.streamPrefix
        try await failing {
            try await PostgresClient.withRunning(settings.service, logger: logger) { client in
                let store = EventStore(client: client, logger: logger)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await store.run() }
                    try await withThrowingTaskGroup(of: Void.self) { writers in
                        for task in 0..<tasks {
                            writers.addTask {
                                let stream = StreamName(type: "load", id: "\(prefix)-\(task)")
                                for index in 0..<appends {
                                    _ = try await store.append(
                                        to: stream, expectedVersion: index == 0 ? .noStream : .exact(Int64(index)),
                                        events: [
                                            EventData(type: "LoadAppended", payload: ["index": .integer(Int64(index))])
                                        ])
                                }
                            }
                        }
                        try await writers.waitForAll()
                    }
                    group.cancelAll()
                }
            }
        }
        print("appended \(tasks * appends) events")
    }
}

func failingSync<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch { throw ValidationFailure(message: String(describing: error)) }
}
