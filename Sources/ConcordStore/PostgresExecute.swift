import Logging
import NIOCore
import PostgresNIO

extension PostgresConnection {
    /// Runs a statement and reads its whole answer. PostgresNIO's async `query` reports an error raised during
    /// execution only to whoever reads the rows; a statement run for its effect must read them, or the error is lost
    /// (and a later COMMIT silently rolls back).
    @discardableResult
    public func execute(_ query: PostgresQuery, logger: Logger) async throws -> PostgresQueryResult {
        let result: EventLoopFuture<PostgresQueryResult> = self.query(query, logger: logger)
        return try await result.get()
    }

    /// Runs `body` in a transaction that counts as committed only when the server answers COMMIT with COMMIT
    /// (a transaction aborted by an unnoticed error answers it with ROLLBACK).
    public func withCheckedTransaction<Result: Sendable>(
        logger: Logger, _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await self.execute("BEGIN", logger: logger)
        let result: Result
        do {
            result = try await body(self)
        } catch {
            _ = try? await self.execute("ROLLBACK", logger: logger)
            throw error
        }
        let commit = try await self.execute("COMMIT", logger: logger)
        guard commit.metadata.command == "COMMIT" else {
            throw TransactionRolledBack(command: commit.metadata.command)
        }
        return result
    }
}

extension PostgresClient {
    /// `PostgresConnection.execute` on a pooled connection.
    @discardableResult
    public func execute(_ query: PostgresQuery, logger: Logger) async throws -> PostgresQueryResult {
        try await self.withConnection { connection in try await connection.execute(query, logger: logger) }
    }
}

/// The server rolled a transaction back instead of committing it.
public struct TransactionRolledBack: Error, Sendable, CustomStringConvertible {
    public var command: String
    public var description: String { "the transaction was not committed (server answered \(self.command))" }
}

/// A one-line description of a database error that is safe to log: the SQLSTATE and the server's message, never
/// the query's bound values (which may hold personal data).
public func safeDescription(of error: any Error) -> String {
    if let error = error as? PSQLError {
        guard let state = error.serverInfo?[.sqlState] else { return "database \(error.code)" }
        return "SQLSTATE \(state): \(error.serverInfo?[.message] ?? "")"
    }
    if let error = error as? TransactionRolledBack { return error.description }
    if let error = error as? EventStoreError { return error.description }
    return String(describing: type(of: error))
}
