import ConcordCore
import ConcordStore
import ConcordTestSupport
import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing

/// SQL for an attacker who controls the database: rewrites that keep the chain perfect, so that only the checks
/// beyond the chain (columns, time order, in-log checkpoints) can find them.
enum Rewrite {
    static let disable = "ALTER TABLE events DISABLE TRIGGER USER"

    /// Recomputes `hash` from `position` to the end, as an attacker would after editing canonical bytes.
    static func chain(from position: Int) -> String {
        """
        DO $$
        DECLARE
            r record;
            previous bytea := coalesce((SELECT hash FROM events WHERE position = \(position - 1)), decode(repeat('00', 32), 'hex'));
        BEGIN
            FOR r IN SELECT position, canonical FROM events WHERE position >= \(position) ORDER BY position LOOP
                previous := sha256(previous || r.canonical);
                UPDATE events SET hash = previous WHERE position = r.position;
            END LOOP;
        END $$
        """
    }

    /// The log's text form of a timestamptz expression, as the canonical bytes hold it.
    static func text(_ expression: String) -> String {
        #"to_char((\#(expression)) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"#
    }

    /// Moves `recorded_at` of `position` by `interval`, in the column and in the canonical bytes.
    static func move(_ position: Int, by interval: String) -> String {
        """
        UPDATE events SET
            canonical = convert_to(replace(convert_from(canonical, 'UTF8'),
                '"recorded_at":"' || \(Self.text("recorded_at")) || '"',
                '"recorded_at":"' || \(Self.text("recorded_at + interval '\(interval)'")) || '"'), 'UTF8'),
            recorded_at = recorded_at + interval '\(interval)'
        WHERE position = \(position)
        """
    }
}

@Suite struct AuditPrecisionTests {
    enum Tampering: String, CaseIterable, Sendable {
        case eventIDChanged, schemaVersionChanged, recordedAtAYearEarlier, streamsSwapped
        case streamTypeChanged, streamIDChanged, streamVersionChanged, eventTypeChanged, hashChanged
        case metadataCopyEdited, recordedAtCopyAMicrosecondLater

        var statements: [String] {
            switch self {
            case .eventIDChanged:
                return [Rewrite.disable, "UPDATE events SET event_id = gen_random_uuid() WHERE position = 5"]
            case .schemaVersionChanged:
                return [Rewrite.disable, "UPDATE events SET schema_version = 2 WHERE position = 5"]
            case .streamTypeChanged:
                return [Rewrite.disable, "UPDATE events SET stream_type = 'appeal' WHERE position = 5"]
            case .streamIDChanged:
                return [Rewrite.disable, "UPDATE events SET stream_id = 'c-9' WHERE position = 5"]
            case .streamVersionChanged:
                return [Rewrite.disable, "UPDATE events SET stream_version = stream_version + 100 WHERE position = 5"]
            case .eventTypeChanged:
                return [Rewrite.disable, "UPDATE events SET event_type = 'Forged' WHERE position = 5"]
            case .hashChanged:
                return [Rewrite.disable, "UPDATE events SET hash = sha256(hash) WHERE position = 5"]
            case .metadataCopyEdited:
                return [Rewrite.disable, #"UPDATE events SET metadata = '{"actor": "forged"}' WHERE position = 5"#]
            case .recordedAtCopyAMicrosecondLater:
                // Only the queryable copy: the canonical bytes and the chain still say the old time.
                return [
                    Rewrite.disable,
                    "UPDATE events SET recorded_at = recorded_at + interval '1 microsecond' WHERE position = 5",
                ]
            case .recordedAtAYearEarlier:
                return [Rewrite.disable, Rewrite.move(5, by: "-1 year"), Rewrite.chain(from: 5)]
            case .streamsSwapped:
                // Positions 4 and 5 hold the first event of c-3 and the second of c-0: swapping them keeps both
                // streams' versions in order, and the chain is recomputed; only time goes back.
                return [
                    Rewrite.disable,
                    "UPDATE events SET position = position + 1000 WHERE position IN (4, 5)",
                    """
                    UPDATE events SET
                        position = 1009 - position,
                        canonical = convert_to(replace(convert_from(canonical, 'UTF8'),
                            '"position":' || (position - 1000) || ',', '"position":' || (1009 - position) || ','), 'UTF8')
                    WHERE position IN (1004, 1005)
                    """,
                    Rewrite.chain(from: 4),
                ]
            }
        }

        /// What the problem must say, so that the test cannot pass on another fault at the same position.
        var reason: String {
            switch self {
            case .eventIDChanged: "event_id column"
            case .schemaVersionChanged: "schema_version column"
            case .streamTypeChanged: "stream_type column"
            case .streamIDChanged: "stream_id column"
            case .streamVersionChanged: "stream_version column"
            case .eventTypeChanged: "event_type column"
            case .hashChanged: "hash does not match"
            case .metadataCopyEdited, .recordedAtCopyAMicrosecondLater: "recorded_at copy disagrees"
            case .recordedAtAYearEarlier, .streamsSwapped: "recorded_at"
            }
        }
    }

    @Test(arguments: Tampering.allCases)
    func everyColumnAndTimeOrderAreChecked(_ tampering: Tampering) async throws {
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
            #expect(report.problem?.position == 5, "\(String(describing: report.problem))")
            #expect(report.problem?.reason.contains(tampering.reason) == true, "\(String(describing: report.problem))")
            #expect(report.eventsChecked == 4)
        }
    }

    /// A checkpoint in the log names the chain's hash at its position: a rewrite under it, or a forged head in it,
    /// is found without any key.
    @Test(arguments: [false, true])
    func inLogCheckpointsAreComparedWithTheChainWithoutAKey(forgingTheHead: Bool) async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withStore(settings: settings) { store in
            for index in 0..<10 {
                _ = try await store.append(
                    to: StreamName(type: "complaint", id: "c-\(index % 4)"), expectedVersion: .any, events: [event()])
            }
            let seed = Data((0..<32).map { _ in UInt8.random(in: .min ... .max) })
            let checkpoint = try await store.appendCheckpoint(key: seed, at: .now())
            #expect(checkpoint.position == 10)
            _ = try await store.append(
                to: StreamName(type: "complaint", id: "c-9"), expectedVersion: .any, events: [event()])
            #expect(try await store.verify().isSound)
        }
        let statements =
            forgingTheHead
            ? [
                Rewrite.disable,
                """
                UPDATE events SET
                    canonical = convert_to(replace(convert_from(canonical, 'UTF8'),
                        (SELECT encode(hash, 'hex') FROM events WHERE position = 10), repeat('ab', 32)), 'UTF8'),
                    payload = jsonb_set(payload, '{hash}', to_jsonb(repeat('ab', 32)))
                WHERE position = 11
                """,
                Rewrite.chain(from: 11),
            ]
            : [
                Rewrite.disable,
                """
                UPDATE events SET
                    canonical = convert_to(replace(convert_from(canonical, 'UTF8'), '"note":"x"', '"note":"z"'), 'UTF8'),
                    payload = '{"note":"z"}'
                WHERE position = 5
                """,
                Rewrite.chain(from: 5),
            ]
        try await asOwner(settings, statements)
        try await withStore(settings: settings) { store in
            let report = try await store.verify()
            #expect(report.problem?.position == 11, "\(String(describing: report.problem))")
            #expect(
                report.problem?.reason.contains("the checkpoint says position 10 has hash") == true,
                "\(String(describing: report.problem))")
            // Only the checkpoint gives it away: every event before it checks.
            #expect(report.eventsChecked == 10)
        }
    }

    /// The writer never records an event earlier than the head, whatever the clock says, and says so.
    @Test func theLogsTimeNeverGoesBackWhenTheClockDoes() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        try await withStore(settings: settings) { store in
            _ = try await store.append(to: StreamName(type: "c", id: "1"), expectedVersion: .any, events: [event()])
        }
        // The head recorded a year ahead: to this process, the clock has gone back a year.
        try await asOwner(settings, [Rewrite.disable, Rewrite.move(1, by: "1 year"), Rewrite.chain(from: 1)])
        let lines = LogLines()
        let logger = Logger(label: "clock-test") { _ in lines }
        let (head, appended) = try await PostgresClient.withRunning(settings.service, logger: logger) { client in
            let store = EventStore(client: client, logger: logger)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.run() }
                defer { group.cancelAll() }
                let head = try await store.readAll(after: 0, limit: 1)[0].recordedAt
                let result = try await store.append(
                    to: StreamName(type: "c", id: "2"), expectedVersion: .any, events: [event()])
                #expect(try await store.verify().isSound)
                return (head, try await store.readAll(after: result.firstPosition - 1, limit: 1)[0].recordedAt)
            }
        }
        #expect(head > Timestamp.now())
        #expect(appended == head)
        #expect(lines.messages.contains { $0.contains("the clock is behind the log's head") })
    }
}

/// Collects what a logger writes, to check that a warning was given.
final class LogLines: LogHandler, Sendable {
    private let lines = Mutex<[String]>([])
    var messages: [String] { self.lines.withLock { $0 } }

    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }
    var logLevel: Logger.Level {
        get { .info }
        set {}
    }
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }

    func log(event: LogEvent) {
        self.lines.withLock { $0.append("\(event.message)") }
    }
}
