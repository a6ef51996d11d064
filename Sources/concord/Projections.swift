import ArgumentParser
import ConcordCore
import ConcordProjections
import ConcordStore
import Foundation
import PostgresNIO
import Synchronization

struct Projections: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The projections of the log (queues, loops, indicators).", subcommands: [Rebuild.self, Status.self])

    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Rebuild a projection from the log beside the live one, then swap it in; the service keeps answering meanwhile."
        )

        @Argument(
            help: "The projection to rebuild (default: all). Known: \(ProjectionRebuild.names.joined(separator: ", "))."
        )
        var name: String?

        func run() async throws {
            if let name = self.name, !ProjectionRebuild.names.contains(name) {
                throw ValidationFailure(
                    message: "no projection named '\(name)' (known: \(ProjectionRebuild.names.joined(separator: ", ")))"
                )
            }
            let meter = ProgressMeter(label: "rebuilding \(CaseTables.name)")
            let report = try await withDatabase(owner: true, migrating: true) { store, client, logger in
                try await ProjectionRebuild(client: client, store: store, logger: logger).run {
                    meter.update(position: $0, head: $1)
                }
            }
            meter.finish()
            print("rebuilt \(CaseTables.name): \(report.events) events applied, checkpoint at \(report.position)")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "How far each projection is behind the log.")

        func run() async throws {
            let lag = try await withDatabase { _, client, logger in
                try await ProjectionQueries(client: client, logger: logger).lag()
            }
            print(
                "\(lag.name): checkpoint \(lag.checkpoint), head \(lag.head), \(lag.eventsBehind) events and "
                    + String(format: "%.3f", lag.secondsBehind) + " s behind")
        }
    }
}

/// Progress of a long job: a bar redrawn in place on a terminal (events, events/s, ETA); a plain line every few
/// seconds otherwise, so that logs stay readable.
final class ProgressMeter: Sendable {
    private struct State {
        var lastDraw: ContinuousClock.Instant?
        var start = ContinuousClock.now
        var first: Int64?
    }
    private let state = Mutex(State())
    private let label: String
    private let terminal = isatty(STDOUT_FILENO) != 0

    init(label: String) {
        self.label = label
    }

    func update(position: Int64, head: Int64) {
        let now = ContinuousClock.now
        let line: String? = self.state.withLock { state in
            let first = state.first ?? position
            state.first = first
            let interval: Duration = self.terminal ? .milliseconds(200) : .seconds(5)
            if let last = state.lastDraw, now - last < interval, position < head { return nil }
            state.lastDraw = now
            let seconds = max((now - state.start).seconds, 1e-3)
            let rate = Double(position - first) / seconds
            let remaining = rate > 0 ? Double(max(0, head - position)) / rate : 0
            let share = head > 0 ? min(1, Double(position) / Double(head)) : 1
            let figures =
                "\(position)/\(head) events, \(Int(rate)) events/s, ETA \(Int(remaining.rounded(.up))) s"
            guard self.terminal else { return "\(self.label): \(Int(share * 100))% \(figures)" }
            let width = 30
            let filled = Int(share * Double(width))
            return "\r\(self.label) [" + String(repeating: "#", count: filled)
                + String(repeating: ".", count: width - filled) + "] \(Int(share * 100))% \(figures)   "
        }
        guard let line else { return }
        if self.terminal {
            FileHandle.standardOutput.write(Data(line.utf8))
        } else {
            print(line)
        }
    }

    func finish() {
        if self.terminal { print("") }
    }
}
