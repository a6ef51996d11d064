import ConcordCore
import ConcordProjections
import ConcordStore
import ConcordTestSupport
import ConcordWorkload
import PostgresNIO
import Synchronization
import Testing

/// Promises of docs/projections.md that need the live runner, a rebuild and the log together.
@Suite(.timeLimit(.minutes(3))) struct ProjectionPromiseTests {
    /// A rebuild swaps its tables in while a live runner keeps projecting a log that keeps growing: the runner
    /// carries on from the new tables' checkpoint, and the end result equals a rebuild from scratch.
    @Test func aRebuildSwapsInWhileALiveRunnerWorks() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let logger = TestDatabases.logger
        try await withStore(settings: settings) { writer in
            try await Workload.appendReference(to: writer, at: Day.start)
            let cases = Cases(store: writer)
            let queries = ProjectionQueries(client: writer.client, logger: logger)
            let box = ProcessBox()
            defer { box.kill() }
            box.start {
                try await withStore(settings: settings, pollInterval: .milliseconds(100)) { store in
                    let runner = ProjectionRunner(
                        client: store.client, store: store, escalator: nil, logger: logger,
                        leaseRetry: .milliseconds(200), pollInterval: .milliseconds(100))
                    box.runner.withLock { $0 = runner }
                    try await runner.run()
                }
            }
            try await waitUntil(settings) { box.isLeader }
            // Appends go on during the rebuild, from another task.
            let appended = Atomic<Int>(0)
            let appender = Task {
                for index in 0..<60 {
                    try await cases.complaint(
                        "C-R\(index)",
                        [
                            .lodge(Cases.lodgement(programme: "CCT", at: Day.at(Double(index) / 100))),
                            .acknowledge(at: Day.at(Double(index) / 100 + 0.01)),
                        ])
                    appended.add(1, ordering: .relaxed)
                }
            }
            try await poll("some cases appended", every: .milliseconds(5)) { appended.load(ordering: .relaxed) >= 10 }
            let report = try await PostgresClient.withRunning(settings.owner, logger: logger) { owner in
                try await ProjectionRebuild(
                    client: owner, store: EventStore(client: owner, logger: logger), logger: logger, pageSize: 7
                ).run()
            }
            #expect(report.events > 0)
            #expect(appended.load(ordering: .relaxed) < 60, "the swap came while appends went on")
            try await appender.value
            try await waitUntil(settings) { try await queries.lag().eventsBehind == 0 }
            #expect(box.isLeader, "the runner survived the swap")

            try await PostgresClient.withRunning(settings.owner, logger: logger) { owner in
                _ = try await ProjectionRebuild(
                    client: owner, store: EventStore(client: owner, logger: logger), logger: logger
                ).buildAside()
                let live = try await RebuildTests.dump(owner, CaseTables.live.schema)
                let rebuilt = try await RebuildTests.dump(owner, CaseTables.rebuild.schema)
                #expect(live.count == 60 && live == rebuilt)
            }
        }
    }

    /// A programme's service levels redefined in the middle of the log: a complaint lodged before the change keeps
    /// the old due time, one lodged after gets the new one, in the live tables and in a rebuild alike.
    @Test func referenceDataChangedMidLogIsFoldedAsOfItsPosition() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let logger = TestDatabases.logger
        try await withStore(settings: settings) { store in
            try await Workload.appendReference(to: store, at: Day.start)
            let cases = Cases(store: store)
            let lodged = Day.at(1)
            try await cases.complaint("C-BEFORE", [.lodge(Cases.lodgement(programme: "CCT", at: lodged))])
            _ = try await catchUpProjections(client: store.client, store: store, logger: logger)
            // CCT now allows 5 days to acknowledge instead of 2 (Workload's first programme).
            let levels = Dictionary(
                uniqueKeysWithValues: Complaint.Category.allCases.map {
                    ($0, ServiceLevel(daysToAcknowledge: 5, daysToResolve: 10, daysToGiveFeedback: 7))
                })
            let redefined = ReferenceEvent.programmeDefined(
                Programme(
                    code: "CCT", name: "Programme CCT", agency: "Ministry", contributory: false, serviceLevels: levels,
                    appealWindowDays: 30, escalatesWhenOverdue: true), at: Day.at(1))
            _ = try await store.append(to: redefined.stream, expectedVersion: .any, events: [redefined.eventData()])
            try await cases.complaint("C-AFTER", [.lodge(Cases.lodgement(programme: "CCT", at: lodged))])
            _ = try await catchUpProjections(client: store.client, store: store, logger: logger, pageSize: 1)

            try await PostgresClient.withRunning(settings.owner, logger: logger) { owner in
                _ = try await ProjectionRebuild(client: owner, store: store, logger: logger).buildAside()
                let day: Int64 = 86_400_000_000
                let expected = [
                    "C-BEFORE": lodged.microsecondsSinceEpoch + 2 * day,
                    "C-AFTER": lodged.microsecondsSinceEpoch + 5 * day,
                ]
                for schema in [CaseTables.live.schema, CaseTables.rebuild.schema] {
                    let rows = try await owner.query(
                        """
                        SELECT id, (extract(epoch FROM acknowledge_due_at) * 1000000)::bigint
                        FROM \(unescaped: schema).cases ORDER BY id
                        """, logger: logger)
                    var due: [String: Int64] = [:]
                    for try await (id, microseconds) in rows.decode((String, Int64).self) { due[id] = microseconds }
                    #expect(due == expected, "\(schema)")
                }
            }
        }
    }
}
