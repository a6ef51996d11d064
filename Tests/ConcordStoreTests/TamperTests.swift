import ConcordCore
import ConcordStore
import ConcordTestSupport
import Foundation
import Logging
import PostgresNIO
import Testing

/// Runs SQL as the owner (a superuser in the private cluster), as an attacker with database access would.
func asOwner(_ settings: DatabaseSettings, _ statements: [String]) async throws {
    try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) { client in
        for statement in statements {
            try await client.execute(PostgresQuery(unsafeSQL: statement), logger: TestDatabases.logger)
        }
    }
}

@Suite struct TamperTests {
    enum Tampering: String, CaseIterable, Sendable {
        case payloadCopyEdited, canonicalEdited, deleted, insertedInTheMiddle, forgedAtTheEnd

        var statements: [String] {
            let disable = "ALTER TABLE events DISABLE TRIGGER USER"
            switch self {
            case .payloadCopyEdited:
                return [disable, #"UPDATE events SET payload = '{"note":"changed"}' WHERE position = 5"#]
            case .canonicalEdited:
                return [
                    disable,
                    """
                    UPDATE events SET canonical = convert_to(replace(convert_from(canonical, 'UTF8'), '"note":"x"', '"note":"z"'), 'UTF8'),
                                      payload = '{"note":"z"}'
                    WHERE position = 5
                    """,
                ]
            case .deleted:
                return [disable, "DELETE FROM events WHERE position = 5"]
            case .insertedInTheMiddle:
                return [
                    disable,
                    "UPDATE events SET position = position + 1000 WHERE position >= 5",
                    "UPDATE events SET position = position - 999 WHERE position >= 1005",
                    """
                    INSERT INTO events (position, stream_type, stream_id, stream_version, event_id, event_type, schema_version,
                                        payload, metadata, recorded_at, canonical, hash)
                    SELECT 5, stream_type, 'forged', 1, gen_random_uuid(), event_type, schema_version, payload, metadata,
                           recorded_at, canonical, hash
                    FROM events WHERE position = 4
                    """,
                ]
            case .forgedAtTheEnd:
                return [
                    """
                    INSERT INTO events (position, stream_type, stream_id, stream_version, event_id, event_type, schema_version,
                                        payload, metadata, recorded_at, canonical, hash)
                    SELECT 11, stream_type, 'forged', 1, gen_random_uuid(), event_type, schema_version, payload, metadata,
                           recorded_at, canonical, sha256(hash)
                    FROM events WHERE position = 10
                    """
                ]
            }
        }

        var firstBadPosition: Int64 { self == .forgedAtTheEnd ? 11 : 5 }
    }

    @Test(arguments: Tampering.allCases)
    func verificationNamesTheFirstBadPosition(_ tampering: Tampering) async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withStore(settings: settings) { store in
            for index in 0..<10 {
                _ = try await store.append(
                    to: StreamName(type: "complaint", id: "c-\(index % 4)"), expectedVersion: .any, events: [event()])
            }
            #expect(try await store.verify().isSound)
        }
        try await asOwner(settings, tampering.statements)
        try await withStore(settings: settings) { store in
            let report = try await store.verify()
            #expect(report.problem?.position == tampering.firstBadPosition, "\(String(describing: report.problem))")
            #expect(report.eventsChecked == Int(tampering.firstBadPosition) - 1)
        }
    }

    @Test func verifyingARangeChecksOnlyThatRange() async throws {
        try await withStore { store, settings in
            for index in 0..<10 {
                _ = try await store.append(
                    to: StreamName(type: "c", id: "\(index)"), expectedVersion: .any, events: [event()])
            }
            try await asOwner(
                settings, ["ALTER TABLE events DISABLE TRIGGER USER", "DELETE FROM events WHERE position = 9"])
            let early = try await store.verify(from: 3, to: 8)
            #expect(early.isSound && early.eventsChecked == 6 && early.lastPosition == 8)
            #expect(try await store.verify(from: 3).problem?.position == 9)
        }
    }
}

@Suite struct AppendOnlyTests {
    @Test(arguments: [
        "UPDATE events SET event_type = 'x'", "DELETE FROM events", "TRUNCATE events",
        "UPDATE append_idempotency SET stream_id = 'x'", "DELETE FROM append_idempotency",
    ])
    func theServiceRoleCannotChangeTheLog(_ statement: String) async throws {
        try await withStore { store, settings in
            _ = try await store.append(
                to: StreamName(type: "c", id: "1"), expectedVersion: .any, events: [event()], idempotencyKey: "k")
            let error = await #expect(throws: PSQLError.self) {
                try await PostgresClient.withRunning(settings.service, logger: TestDatabases.logger) { client in
                    try await client.execute(PostgresQuery(unsafeSQL: statement), logger: TestDatabases.logger)
                }
            }
            #expect(error?.serverInfo?[.sqlState] == "42501")
            #expect(try await store.head().position == 1)
        }
    }

    @Test(arguments: ["UPDATE events SET event_type = 'x'", "DELETE FROM events", "TRUNCATE events"])
    func eventTheOwnerIsStoppedByTheTrigger(_ statement: String) async throws {
        try await withStore { store, settings in
            _ = try await store.append(to: StreamName(type: "c", id: "1"), expectedVersion: .any, events: [event()])
            let error = await #expect(throws: PSQLError.self) { try await asOwner(settings, [statement]) }
            #expect(error?.serverInfo?[.message]?.contains("append-only") == true)
            #expect(try await store.verify().eventsChecked == 1)
        }
    }
}

@Suite struct MigrationTests {
    @Test func migrationsApplyOnceAndAChangedAppliedFileIsRefused() async throws {
        let settings = try await TestDatabases.shared.emptyDatabase()
        let logger = TestDatabases.logger
        let migrations = try Migration.bundled()
        try await PostgresClient.withRunning(settings.owner, logger: logger) { client in
            let migrator = Migrator(migrations: migrations, logger: logger)
            #expect(!(await migrator.isCurrent(client)))
            let first = try await migrator.migrate(client)
            let second = try await migrator.migrate(client)
            #expect(first == migrations.map(\.version))
            #expect(second == [])
            #expect(await migrator.isCurrent(client))

            var changed = migrations
            changed[0] = Migration(
                version: changed[0].version, name: changed[0].name, sql: changed[0].sql + "\n-- edited\n")
            let refusing = Migrator(migrations: changed, logger: logger)
            let error = await #expect(throws: MigrationError.self) { try await refusing.migrate(client) }
            #expect(error?.description.contains("0001_event_log.sql was changed after it was applied") == true)
            #expect(!(await refusing.isCurrent(client)))
        }
    }

    @Test func concurrentMigratorsApplyEachMigrationOnce() async throws {
        let settings = try await TestDatabases.shared.emptyDatabase()
        let logger = TestDatabases.logger
        let migrations = try Migration.bundled()
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try await PostgresClient.withRunning(settings.owner, logger: logger) { client in
                        try await Migrator(migrations: migrations, logger: logger).migrate(client)
                    }
                }
            }
            return try await group.reduce(into: [Int]()) { $0 += $1 }
        }
        #expect(applied.sorted() == migrations.map(\.version))
    }
}
