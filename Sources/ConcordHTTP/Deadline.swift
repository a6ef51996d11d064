import Hummingbird

/// Waiting on the database for at most a while: reads and authentication answer 503 rather than hang when the
/// database is gone (the connection pool keeps retrying behind them). Never used around an append, whose outcome
/// must not be guessed.
struct DatabaseTimeout: Error {}

func withDatabaseDeadline<T: Sendable>(
    _ timeout: Duration = .seconds(5), _ body: @escaping @Sendable () async throws -> T
)
    async throws -> T
{
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else { throw DatabaseTimeout() }
        return value
    }
}
