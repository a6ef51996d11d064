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
    /// Notified with the new position whenever the tables move on (by `apply_cases`), and with `lease` when a
    /// runner takes the lease.
    public static let notificationChannel = "concord_projection"

    public let schema: String

    public init(schema: String) {
        self.schema = schema
    }

    /// The schema's name as SQL, quoted.
    var sql: String { "\"" + self.schema + "\"" }

    /// The position the tables have applied the log up to.
    public func checkpoint(on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        let rows = try await connection.query(
            "SELECT position FROM \(unescaped: self.sql).checkpoints WHERE name = \(Self.name)", logger: logger)
        for try await position in rows.decode(Int64.self) { return position }
        throw CheckpointMoved(expected: 0, found: nil)
    }

    /// Writes what a batch of events changed and moves the checkpoint from `from` to the batch's last position, in
    /// one statement (`apply_cases`): an event's effect is applied exactly once, across crashes. Throws
    /// `CheckpointMoved` (and writes nothing) when the checkpoint is no longer at `from`: another runner or a
    /// rebuild got there first. Atomic on its own, or part of the caller's transaction.
    func write(
        _ output: FoldOutput, areas: [(area: String, ancestor: String, level: String, depth: Int)]?, from: Int64,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        var json: [UInt8] = [UInt8(ascii: "[")]
        for (index, row) in output.rows.values.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            Self.writeRow(row.summary, row.version, row.position, into: &json)
        }
        json.append(UInt8(ascii: "]"))
        let areaJSON = areas.map { areas in
            String(
                decoding: CanonicalJSON.encode(
                    .array(
                        areas.map {
                            [
                                "area": .string($0.area), "ancestor": .string($0.ancestor), "level": .string($0.level),
                                "depth": .integer(Int64($0.depth)),
                            ]
                        })), as: UTF8.self)
        }
        let rows = try await connection.query(
            """
            SELECT apply_cases(\(self.schema), \(from), \(output.lastPosition),
                               \(String(decoding: json, as: UTF8.self))::jsonb, \(areaJSON)::jsonb)
            """, logger: logger)
        for try await applied in rows.decode(Bool.self) where !applied {
            throw CheckpointMoved(expected: from, found: try? await self.checkpoint(on: connection, logger: logger))
        }
    }

    /// One row for `upsert_cases`: the summary's members under the column names, times in microseconds. Written
    /// straight into bytes (no dictionary, no key sorting): a rebuild writes hundreds of thousands of them.
    static func writeRow(_ summary: CaseSummary, _ version: Int64, _ position: Int64, into out: inout [UInt8]) {
        var first = true
        func key(_ name: StaticString) {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            first = false
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }
        func text(_ name: StaticString, _ value: String?) {
            key(name)
            if let value {
                CanonicalJSON.writeString(value, into: &out)
            } else {
                out.append(contentsOf: Array("null".utf8))
            }
        }
        func integer(_ name: StaticString, _ value: Int64?) {
            key(name)
            out.append(contentsOf: Array((value.map { String($0) } ?? "null").utf8))
        }
        func time(_ name: StaticString, _ value: Timestamp?) { integer(name, value?.microsecondsSinceEpoch) }
        text("kind", summary.kind)
        text("id", summary.id)
        text("status", summary.status)
        text("programme", summary.programme)
        text("office", summary.office)
        text("area", summary.area)
        text("lodging_area", summary.lodgingArea)
        text("category", summary.category)
        text("channel", summary.channel)
        text("priority", summary.priority)
        key("sensitive")
        out.append(contentsOf: Array((summary.sensitive ? "true" : "false").utf8))
        integer("escalation_level", Int64(summary.escalationLevel))
        time("overdue_escalated_due_at", summary.overdueEscalatedDueAt)
        time("opened_at", summary.openedAt)
        time("status_since", summary.statusSince)
        text("loop", summary.loop.rawValue)
        time("loop_since", summary.loopSince)
        text("next_step", summary.pending?.step.rawValue)
        text("waiting_on_kind", summary.pending?.party.kind.rawValue)
        text("waiting_on", summary.pending?.party.code)
        time("due_at", summary.pending?.dueAt)
        time("acknowledged_at", summary.acknowledgedAt)
        time("acknowledge_due_at", summary.acknowledgeDueAt)
        time("answered_at", summary.answeredAt)
        time("answer_due_at", summary.answerDueAt)
        text("outcome", summary.outcome)
        time("feedback_at", summary.feedbackAt)
        time("loop_closed_at", summary.loopClosedAt)
        // Written only when recorded: `upsert_cases` (sql/0017) updates the attribute columns of those rows alone.
        if summary.attributes != PersonAttributes() {
            text("sex", summary.attributes.sex?.rawValue)
            text("age_group", summary.attributes.ageGroup?.rawValue)
            text("disability", summary.attributes.disability?.rawValue)
        }
        // Written only when there is one: `upsert_cases` (sql/0016) updates that column of those rows alone.
        if let outcome = summary.serviceOutcome { text("service_outcome", outcome) }
        integer("version", version)
        integer("position", position)
        out.append(UInt8(ascii: "}"))
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
/// what they changed in one transaction with the checkpoint. The live runner writes every page (small, quick);
/// a catch-up over a long stretch (a rebuild) folds many pages before each write, reads the next page while
/// folding, and writes while it folds on, so that the database and the fold use both cores.
struct CaseProjector: Sendable {
    let store: EventStore
    let tables: CaseTables
    let logger: Logger
    var pageSize = 2_000
    /// The last position to apply: a replay as of a past moment stops there.
    var through = Int64.max
    private(set) var fold: CaseFold
    private(set) var position: Int64

    /// A projector at the tables' checkpoint, with the reference data as it stood there.
    static func start(
        store: EventStore, tables: CaseTables, on connection: PostgresConnection, logger: Logger
    ) async throws -> CaseProjector {
        let position = try await tables.checkpoint(on: connection, logger: logger)
        let reference = try await store.allEvents(ofStreamType: ReferenceEvent.streamType, through: position)
        return CaseProjector(
            store: store, tables: tables, logger: logger, fold: CaseFold(reference: reference), position: position)
    }

    /// The next page after `position` (up to `through`), read in a task of its own.
    private func page(after position: Int64) -> Task<[RecordedEvent], any Error> {
        let (store, limit, through) = (self.store, self.pageSize, self.through)
        return Task {
            guard position < through else { return [] }
            return try await store.readAll(after: position, limit: limit).filter { $0.position <= through }
        }
    }

    /// Applies one page; returns how many events it read (0 when caught up with the log).
    mutating func step(on connection: PostgresConnection) async throws -> Int {
        let events = try await self.page(after: self.position).value
        guard !events.isEmpty else { return 0 }
        let output = try await self.fold(events)
        try await self.write(output, from: self.position, on: connection)
        self.position = output.lastPosition
        return events.count
    }

    /// Applies everything up to the log's end (or `through`), writing once at least `rowsPerWrite` cases changed;
    /// returns the number of events applied. `progress` gets the position after each write.
    @discardableResult
    mutating func catchUp(
        on connection: PostgresConnection, rowsPerWrite: Int = 20_000, progress: ((Int64) -> Void)? = nil
    ) async throws -> Int {
        var total = 0
        var next = self.page(after: self.position)
        var pending = FoldOutput(lastPosition: self.position)
        var written = self.position
        var writing: Task<Void, any Error>? = nil
        defer { next.cancel() }
        while true {
            let events = try await next.value
            if let last = events.last { next = self.page(after: last.position) }
            if !events.isEmpty {
                pending.merge(try await self.fold(events))
                total += events.count
            }
            guard pending.rows.count >= rowsPerWrite || (events.isEmpty && pending.lastPosition > written) else {
                if events.isEmpty { break }
                continue
            }
            // One write at a time, in order: each moves the checkpoint from where the one before left it.
            try await writing?.value
            let (output, from, areas) = (pending, written, pending.areasChanged ? self.fold.areaAncestors : nil)
            let (tables, logger) = (self.tables, self.logger)
            writing = Task {
                try await tables.write(output, areas: areas, from: from, on: connection, logger: logger)
            }
            written = pending.lastPosition
            pending = FoldOutput(lastPosition: written)
            if events.isEmpty { break }
            progress?(written)
        }
        try await writing?.value
        self.position = written
        progress?(written)
        return total
    }

    private mutating func fold(_ events: [RecordedEvent]) async throws -> FoldOutput {
        let store = self.store
        return try await self.fold.apply(
            events, after: events[0].position - 1,
            load: { stream, version in
                try await store.readStream(stream, from: 1, limit: Int(version - 1))
            }, logger: self.logger)
    }

    private func write(_ output: FoldOutput, from: Int64, on connection: PostgresConnection) async throws {
        try await self.tables.write(
            output, areas: output.areasChanged ? self.fold.areaAncestors : nil, from: from, on: connection,
            logger: self.logger)
    }

    var catalog: ReferenceCatalog { self.fold.catalog }
}
