import ConcordCore
import ConcordProjections
import ConcordStore
import ConcordTestSupport
import ConcordWorkload
import PostgresNIO
import Testing

@Suite(.timeLimit(.minutes(5))) struct RebuildTests {
    /// 2,000 random cases through every kind of command, appended in interleaved rounds and projected as they come
    /// in small pages (the live way); then a rebuild from scratch must give the same tables, row for row.
    @Test func aRebuildFromScratchEqualsTheIncrementalTables() async throws {
        try await withStore { store, settings in
            let logger = TestDatabases.logger
            let start = Timestamp(microsecondsSinceEpoch: 1_790_000_000_000_000)
            try await Workload.appendReference(to: store, at: start)
            var rng = SeededRandom(seed: 42)
            var walks = (0..<2_000).map { index in
                CaseWalk(
                    kind: CaseWalk.Kind.allCases[index % 3], id: "W-\(index)",
                    start: Timestamp(microsecondsSinceEpoch: start.microsecondsSinceEpoch + Int64(index) * 60_000_000))
            }
            var types: Set<String> = []
            let client = store.client
            var round = 0
            while walks.contains(where: { !$0.finished }) {
                round += 1
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in walks.indices {
                        guard let events = walks[index].step(&rng) else { continue }
                        types.formUnion(events.map(\.type))
                        let (stream, version) = (walks[index].stream, walks[index].version - Int64(events.count))
                        group.addTask {
                            _ = try await store.append(
                                to: stream, expectedVersion: version == 0 ? .noStream : .exact(version), events: events)
                        }
                    }
                    try await group.waitForAll()
                }
                // Incremental: small pages, every round.
                _ = try await catchUpProjections(
                    client: client, store: store, logger: logger, pageSize: 37, rowsPerWrite: 1)
            }
            let commanded =
                Complaint.EventKind.allCases.filter { $0 != .escalatedForOverdue }.map(\.rawValue)
                + Appeal.EventKind.allCases.map(\.rawValue) + Referral.EventKind.allCases.map(\.rawValue)
            #expect(
                Set(commanded).subtracting(types).subtracting(Delivery.eventTypes).isEmpty,
                "missing: \(Set(commanded).subtracting(types))")
            #expect(round > 5)
            try await PostgresClient.withRunning(settings.owner, logger: logger) { owner in
                let rebuild = ProjectionRebuild(
                    client: owner, store: EventStore(client: owner, logger: logger), logger: logger)
                let report = try await rebuild.buildAside()
                #expect(report.events > 5_000)
                let live = try await Self.dump(owner, CaseTables.live.schema)
                let rebuilt = try await Self.dump(owner, CaseTables.rebuild.schema)
                #expect(live.count == 2_000 && live.count == rebuilt.count)
                #expect(live == rebuilt)
                let liveAreas = try await Self.dump(
                    owner, CaseTables.live.schema, table: "area_ancestors", order: "area, ancestor")
                let rebuiltAreas = try await Self.dump(
                    owner, CaseTables.rebuild.schema, table: "area_ancestors", order: "area, ancestor")
                #expect(liveAreas.count == 15 + 14 + 12 + 8 && liveAreas == rebuiltAreas)
            }
        }
    }

    /// Every row of a table as text, in key order.
    static func dump(
        _ client: PostgresClient, _ schema: String, table: String = "cases", order: String = "kind, id"
    ) async throws -> [String] {
        let rows = try await client.query(
            "SELECT t::text FROM \(unescaped: schema).\(unescaped: table) t ORDER BY \(unescaped: order)",
            logger: TestDatabases.logger)
        var lines: [String] = []
        for try await line in rows.decode(String.self) { lines.append(line) }
        return lines
    }
}
