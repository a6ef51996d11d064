import ArgumentParser
import ConcordCore
import ConcordStore
import Foundation
import PostgresNIO

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Auditors' tools over the event log.", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check the hash chain, positions, stream versions and canonical bytes; exit 1 at the first fault."
        )

        @Option(help: "First position to check.") var from: Int64 = 1
        @Option(help: "Last position to check (default: the head).") var to: Int64?

        func run() async throws {
            let logger = makeLogger("concord")
            let bootstrap = try await failing { try await DatabaseBootstrap.prepare(logger: logger) }
            defer { bootstrap.stopClusterIfStarted() }
            let start = ContinuousClock.now
            let report = try await failing {
                try await PostgresClient.withRunning(bootstrap.settings.service, logger: logger) { client in
                    let store = EventStore(client: client, logger: logger)
                    return try await store.verify(from: self.from, to: self.to)
                }
            }
            let seconds = max((ContinuousClock.now - start).seconds, 1e-9)
            print(
                "checked \(report.eventsChecked) events in \(report.streams) streams, "
                    + "\(Int(Double(report.eventsChecked) / seconds)) events/s; head \(report.lastPosition) "
                    + report.lastHash.hexString)
            if let problem = report.problem {
                throw ValidationFailure(message: "log is NOT sound at \(problem)")
            }
            print("log is sound")
        }
    }
}

extension Duration {
    var seconds: Double { Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18 }
}
