import ConcordCore
import ConcordStore
import Logging
import PostgresNIO

/// Rebuilds the projections from the log while the service keeps answering from the old tables: builds fresh
/// tables in `projection_rebuild` from position 0, then, in one transaction that holds the live checkpoint row
/// (so the live runner cannot commit meanwhile), applies what arrived during the build and swaps the schemas.
/// The live runner notices the swap at its next write and carries on from the new checkpoint. Runs as the owner.
public struct ProjectionRebuild: Sendable {
    /// The projections that can be rebuilt, by name.
    public static let names = [CaseTables.name]

    let client: PostgresClient
    let store: EventStore
    let logger: Logger
    var pageSize = 2_000

    public init(client: PostgresClient, store: EventStore, logger: Logger, pageSize: Int = 2_000) {
        self.client = client
        self.store = store
        self.logger = logger
        self.pageSize = pageSize
    }

    /// What a rebuild did.
    public struct Report: Sendable {
        public var events: Int
        public var position: Int64
    }

    /// Rebuilds and swaps in the tables. `progress` gets the position reached and the head at the start.
    public func run(
        progress: @escaping @Sendable (_ position: Int64, _ head: Int64) -> Void = { _, _ in }
    ) async throws
        -> Report
    {
        let head = try await self.store.head().position
        return try await self.client.withConnection { connection in
            try await connection.execute(
                "SELECT create_projection_tables(\(CaseTables.rebuild.schema))", logger: self.logger)
            var projector = try await CaseProjector.start(
                store: self.store, tables: .rebuild, on: connection, logger: self.logger)
            projector.pageSize = self.pageSize
            var events = try await projector.catchUp(on: connection) { progress($0, head) }
            try await connection.withCheckedTransaction(logger: self.logger) { connection in
                try await connection.execute(
                    "LOCK TABLE \(unescaped: CaseTables.live.sql).checkpoints IN ACCESS EXCLUSIVE MODE",
                    logger: self.logger)
                events += try await projector.catchUp(on: connection)
                try await connection.execute(
                    "DROP SCHEMA \(unescaped: CaseTables.live.sql) CASCADE", logger: self.logger)
                try await connection.execute(
                    "ALTER SCHEMA \(unescaped: CaseTables.rebuild.sql) RENAME TO \(unescaped: CaseTables.live.sql)",
                    logger: self.logger)
            }
            progress(projector.position, max(head, projector.position))
            return Report(events: events, position: projector.position)
        }
    }

    /// Builds the tables in `projection_rebuild` and stops there (no swap): for comparing a rebuild with the live
    /// tables, and for the benchmark.
    public func buildAside() async throws -> Report {
        try await self.client.withConnection { connection in
            try await connection.execute(
                "SELECT create_projection_tables(\(CaseTables.rebuild.schema))", logger: self.logger)
            var projector = try await CaseProjector.start(
                store: self.store, tables: .rebuild, on: connection, logger: self.logger)
            projector.pageSize = self.pageSize
            let events = try await projector.catchUp(on: connection)
            return Report(events: events, position: projector.position)
        }
    }
}

/// Catches the live tables up with the log on one connection and returns: what a test or a one-off command uses
/// instead of the runner.
///
/// `rowsPerWrite` 1 writes every page, as the live runner does.
public func catchUpProjections(
    client: PostgresClient, store: EventStore, logger: Logger, pageSize: Int = 2_000, rowsPerWrite: Int = 20_000
) async throws -> Int64 {
    try await client.withConnection { connection in
        var projector = try await CaseProjector.start(store: store, tables: .live, on: connection, logger: logger)
        projector.pageSize = pageSize
        try await projector.catchUp(on: connection, rowsPerWrite: rowsPerWrite)
        return projector.position
    }
}

/// The projection tables as they stood at `position`, replayed into a scratch schema that nobody else reads, for
/// `body`; the schema is dropped afterwards. Live tables are never touched. The service role may run it: the schema
/// is made and dropped by `create_as_of_tables` and `drop_as_of_tables` (sql/0020), which do that and nothing else.
public func withProjectionsAsOf<T: Sendable>(
    position: Int64, client: PostgresClient, store: EventStore, logger: Logger,
    _ body: @Sendable (CaseTables) async throws -> T
) async throws -> T {
    let tables = CaseTables(schema: "projection_as_of_\(UInt32.random(in: 0...UInt32.max))")
    do {
        try await client.withConnection { connection in
            try await connection.execute("SELECT create_as_of_tables(\(tables.schema))", logger: logger)
            var projector = try await CaseProjector.start(store: store, tables: tables, on: connection, logger: logger)
            projector.through = position
            try await projector.catchUp(on: connection)
        }
        let result = try await body(tables)
        try await client.execute("SELECT drop_as_of_tables(\(tables.schema))", logger: logger)
        return result
    } catch {
        _ = try? await client.execute("SELECT drop_as_of_tables(\(tables.schema))", logger: logger)
        throw error
    }
}
