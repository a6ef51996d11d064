import ConcordCore
import ConcordStore
import Logging
import PostgresNIO

/// The tables of the `cases` projection in one schema: `projection` (live) or `projection_rebuild` (a rebuild in
/// progress). Created by `create_projection_tables` (sql/0005_projections.sql).
public struct CaseTables: Sendable {
    public static let live = CaseTables(schema: "projection")
    public static let rebuild = CaseTables(schema: "projection_rebuild")
    /// The projection's name, as `concord projections rebuild` and the checkpoints table spell it.
    public static let name = "cases"

    public let schema: String

    public init(schema: String) {
        self.schema = schema
    }

    /// The schema's name as SQL, quoted.
    var sql: String { "\"" + self.schema + "\"" }

    /// The position the tables have applied the log up to.
    public func checkpoint(on connection: PostgresConnection, logger: Logger, lock: Bool = false) async throws -> Int64
    {
        let rows = try await connection.query(
            """
            SELECT position FROM \(unescaped: self.sql).checkpoints WHERE name = \(Self.name)
            \(unescaped: lock ? "FOR UPDATE" : "")
            """, logger: logger)
        for try await position in rows.decode(Int64.self) { return position }
        throw CheckpointMoved(expected: 0, found: nil)
    }

    /// Writes what a batch of events changed and moves the checkpoint from `from` to the batch's last position, in
    /// one transaction: an event's effect is applied exactly once, across crashes. Throws `CheckpointMoved` (and
    /// writes nothing) when the checkpoint is no longer at `from`: another runner or a rebuild got there first.
    func write(
        _ output: FoldOutput, areas: [(area: String, ancestor: String, level: String, depth: Int)]?, from: Int64,
        on connection: PostgresConnection, inTransaction: Bool, logger: Logger
    ) async throws {
        guard inTransaction else {
            return try await connection.withCheckedTransaction(logger: logger) { connection in
                try await self.write(
                    output, areas: areas, from: from, on: connection, inTransaction: true, logger: logger)
            }
        }
        do {  // one transaction: the caller's
            let found = try await self.checkpoint(on: connection, logger: logger, lock: true)
            guard found == from else { throw CheckpointMoved(expected: from, found: found) }
            if !output.rows.isEmpty {
                let rows = JSONValue.array(output.rows.values.map { Self.row($0.summary, $0.version, $0.position) })
                let json = String(decoding: CanonicalJSON.encode(rows), as: UTF8.self)
                try await connection.execute("SELECT upsert_cases(\(self.schema), \(json)::jsonb)", logger: logger)
            }
            if let areas {
                try await connection.execute("DELETE FROM \(unescaped: self.sql).area_ancestors", logger: logger)
                let json = JSONValue.array(
                    areas.map {
                        [
                            "area": .string($0.area), "ancestor": .string($0.ancestor), "level": .string($0.level),
                            "depth": .integer(Int64($0.depth)),
                        ]
                    })
                try await connection.execute(
                    """
                    INSERT INTO \(unescaped: self.sql).area_ancestors (area, ancestor, ancestor_level, depth)
                    SELECT area, ancestor, level, depth FROM jsonb_to_recordset(\(String(decoding: CanonicalJSON.encode(json), as: UTF8.self))::jsonb)
                        AS r(area text, ancestor text, level text, depth integer)
                    """, logger: logger)
            }
            try await connection.execute(
                """
                UPDATE \(unescaped: self.sql).checkpoints SET position = \(output.lastPosition), updated_at = now()
                WHERE name = \(Self.name)
                """, logger: logger)
        }
    }

    /// One row for `upsert_cases`: the summary's members under the column names, times in microseconds.
    static func row(_ summary: CaseSummary, _ version: Int64, _ position: Int64) -> JSONValue {
        func time(_ value: Timestamp?) -> JSONValue { value.map { .integer($0.microsecondsSinceEpoch) } ?? .null }
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        return .object([
            "kind": .string(summary.kind), "id": .string(summary.id), "status": .string(summary.status),
            "programme": text(summary.programme), "office": .string(summary.office), "area": text(summary.area),
            "lodging_area": text(summary.lodgingArea), "category": text(summary.category),
            "channel": text(summary.channel), "priority": .string(summary.priority),
            "sensitive": .bool(summary.sensitive), "escalation_level": .integer(Int64(summary.escalationLevel)),
            "overdue_escalated_due_at": time(summary.overdueEscalatedDueAt), "opened_at": time(summary.openedAt),
            "status_since": time(summary.statusSince), "loop": .string(summary.loop.rawValue),
            "loop_since": time(summary.loopSince), "next_step": text(summary.pending?.step.rawValue),
            "waiting_on_kind": text(summary.pending?.party.kind.rawValue),
            "waiting_on": text(summary.pending?.party.code), "due_at": time(summary.pending?.dueAt),
            "acknowledged_at": time(summary.acknowledgedAt), "acknowledge_due_at": time(summary.acknowledgeDueAt),
            "answered_at": time(summary.answeredAt), "answer_due_at": time(summary.answerDueAt),
            "outcome": text(summary.outcome), "feedback_at": time(summary.feedbackAt),
            "loop_closed_at": time(summary.loopClosedAt), "version": .integer(version), "position": .integer(position),
        ])
    }
}

/// The checkpoint was not where this runner left it: another runner or a rebuild moved it. The runner starts
/// again from the stored checkpoint.
struct CheckpointMoved: Error, CustomStringConvertible {
    var expected: Int64
    var found: Int64?
    var description: String {
        "the projection checkpoint moved (expected \(self.expected), found \(self.found.map(String.init) ?? "none"))"
    }
}

/// Catches the `cases` tables of one schema up with the log: reads pages after the checkpoint, folds them, writes
/// each page in one transaction. Used by the live runner and by rebuilds.
struct CaseProjector: Sendable {
    let store: EventStore
    let tables: CaseTables
    let logger: Logger
    var pageSize = 2_000
    /// Whether the caller holds a transaction open around the steps (a rebuild's final catch-up).
    var inTransaction = false
    /// The last position to apply: a replay as of a past moment stops there.
    var through = Int64.max
    private(set) var fold: CaseFold
    private(set) var position: Int64

    /// A projector at the tables' checkpoint, with the reference data as it stood there.
    static func start(
        store: EventStore, tables: CaseTables, on connection: PostgresConnection, logger: Logger
    ) async throws -> CaseProjector {
        let position = try await tables.checkpoint(on: connection, logger: logger)
        let reference = try await store.referenceEvents(through: position)
        return CaseProjector(
            store: store, tables: tables, logger: logger, fold: CaseFold(reference: reference), position: position)
    }

    /// Applies one page; returns how many events it read (0 when caught up with the log).
    mutating func step(on connection: PostgresConnection) async throws -> Int {
        guard self.position < self.through else { return 0 }
        let events = try await self.store.readAll(after: self.position, limit: self.pageSize).filter {
            $0.position <= self.through
        }
        guard !events.isEmpty else { return 0 }
        try await self.apply(events, on: connection)
        return events.count
    }

    /// Folds `events` (the next ones after the position) and writes them.
    mutating func apply(_ events: [RecordedEvent], on connection: PostgresConnection) async throws {
        let store = self.store
        let output = try await self.fold.apply(
            events, after: self.position,
            load: { stream, version in
                try await store.readStream(stream, from: 1, limit: Int(version - 1))
            }, logger: self.logger)
        try await self.tables.write(
            output, areas: output.areasChanged ? self.fold.areaAncestors : nil, from: self.position, on: connection,
            inTransaction: self.inTransaction, logger: self.logger)
        self.position = output.lastPosition
    }

    /// Steps until the log has nothing after the position; returns the number of events applied.
    @discardableResult
    mutating func catchUp(on connection: PostgresConnection, progress: ((Int64) -> Void)? = nil) async throws -> Int {
        var total = 0
        while true {
            let count = try await self.step(on: connection)
            if count == 0 { return total }
            total += count
            progress?(self.position)
        }
    }

    var catalog: ReferenceCatalog { self.fold.catalog }
}

extension EventStore {
    /// The reference data's events up to `position`: the catalog as it stood there.
    func referenceEvents(through position: Int64) async throws -> [RecordedEvent] {
        var reference: [RecordedEvent] = []
        var after: Int64 = 0
        while true {
            let page = try await self.readAll(after: after, streamType: ReferenceEvent.streamType, limit: 1_000)
            reference += page.prefix { $0.position <= position }
            guard let last = page.last, page.count == 1_000, last.position <= position else { break }
            after = last.position
        }
        return reference
    }
}
