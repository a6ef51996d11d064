import Logging
import PostgresNIO
import Synchronization

/// No pooled connection came within the deadline: the database is unreachable (or the pool is exhausted). Nothing
/// was sent to the database, so nothing was changed.
public struct DatabaseUnavailable: Error, Sendable, CustomStringConvertible {
    public var waited: Duration
    public init(waited: Duration) { self.waited = waited }
    public var description: String { "no database connection within \(self.waited)" }
}

extension PostgresClient {
    /// `withConnection`, giving up with `DatabaseUnavailable` when no connection is had within `deadline`. While the
    /// database is away the pool queues requests for as long as it keeps trying (up to a minute); a caller answering
    /// someone must not wait that long. Once `body` has the connection it runs to its end: it is never abandoned
    /// half-way, so its outcome is never guessed.
    public func withConnection<Result: Sendable>(
        acquiringWithin deadline: Duration, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let race = AcquisitionRace()
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask {
                try await self.withConnection { connection in
                    guard race.settle(.acquired) else { throw DatabaseUnavailable(waited: deadline) }
                    return try await body(connection)
                }
            }
            group.addTask {
                try? await Task.sleep(for: deadline)
                if race.settle(.timedOut) { throw DatabaseUnavailable(waited: deadline) }
                return nil
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let result = next { return result }
            }
            // Only the timer's nil can end here without a result, and it returns nil only once the body has run.
            throw DatabaseUnavailable(waited: deadline)
        }
    }

    /// A read whose connection must come within `deadline` (see `withConnection(acquiringWithin:_:)`) and whose rows
    /// must all come within `answerDeadline`; the rows are read in full before the connection goes back. A read is
    /// safe to abandon: when it overruns, or its task is cancelled (a shutdown), the connection is closed and the
    /// caller goes on at once (`run(within:)`) rather than wait on a query PostgresNIO may never complete.
    public func query(
        _ query: PostgresQuery, acquiringWithin deadline: Duration,
        answeringWithin answerDeadline: Duration = .seconds(30),
        logger: Logger
    ) async throws -> [PostgresRow] {
        try await self.withConnection(acquiringWithin: deadline) { connection in
            try await connection.run(within: answerDeadline) { connection in
                try await connection.query(query, logger: logger).collect()
            }
        }
    }
}

/// Who came first, the connection or the deadline: decided once.
private final class AcquisitionRace: Sendable {
    enum Outcome: Sendable { case acquired, timedOut }
    private let outcome = Mutex<Outcome?>(nil)

    /// True when `outcome` is the first to settle the race.
    func settle(_ outcome: Outcome) -> Bool {
        self.outcome.withLock { settled in
            guard settled == nil else { return false }
            settled = outcome
            return true
        }
    }
}

/// A connection that is closed, or did not answer within its deadline (and was closed for it).
public struct ConnectionLost: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension PostgresConnection {
    /// Runs `body` on this connection, giving up after `deadline` or when the calling task is cancelled: the
    /// connection is then closed (its session ends, its transaction rolls back, its locks go) and `ConnectionLost`
    /// (or `CancellationError`) thrown, without waiting for `body`. A connection that closes meanwhile (the server
    /// died, or the router dropped it in a failover) ends the wait at once with `ConnectionLost`.
    ///
    /// For connections held for long (the projection lease): PostgresNIO 1.33 never completes a query written to a
    /// connection the server has closed (the write fails with no one told), so a caller awaiting it hangs forever,
    /// deaf to cancellation, and so does every graceful shutdown waiting for that caller. A body left hanging that
    /// way holds nothing but the closed connection. (Waiting for the deadline instead kept the projection's leader
    /// on a dead primary for the whole step deadline after a failover under load.)
    public func run<Result: Sendable>(
        within deadline: Duration, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        guard !self.isClosed else { throw ConnectionLost("the connection is closed") }
        let race = ResultRace<Result>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.start(continuation)
                let work = Task {
                    do {
                        race.finish(.success(try await body(self)))
                    } catch {
                        race.finish(.failure(error))
                    }
                }
                Task {
                    // Looks at the connection a few times a second rather than waiting on its `closeFuture`, whose
                    // callbacks would pile up for the life of a connection held for long; ends with the race.
                    let end = ContinuousClock.now + deadline
                    while !race.isDone {
                        if self.isClosed {
                            if race.finish(.failure(ConnectionLost("the connection closed"))) { work.cancel() }
                            return
                        }
                        let left = end - ContinuousClock.now
                        guard left > .zero else { break }
                        try? await Task.sleep(for: min(left, .milliseconds(250)))
                    }
                    if race.finish(.failure(ConnectionLost("no answer within \(deadline)"))) {
                        work.cancel()
                        try? await self.close()
                    }
                }
            }
        } onCancel: {
            if race.finish(.failure(CancellationError())) { Task { try? await self.close() } }
        }
    }
}

/// The first outcome of a body and its deadline, delivered once.
private final class ResultRace<Value: Sendable>: Sendable {
    private let state = Mutex<(continuation: CheckedContinuation<Value, any Error>?, done: Bool)>((nil, false))

    func start(_ continuation: CheckedContinuation<Value, any Error>) {
        let early = self.state.withLock { state -> Bool in
            if state.done { return true }
            state.continuation = continuation
            return false
        }
        // Cancelled before it started: the cancellation already settled the race.
        if early { continuation.resume(throwing: CancellationError()) }
    }

    var isDone: Bool { self.state.withLock { $0.done } }

    /// True when this outcome is the first.
    @discardableResult
    func finish(_ outcome: Swift.Result<Value, any Error>) -> Bool {
        let (first, continuation) = self.state.withLock { state in
            guard !state.done else { return (false, nil as CheckedContinuation<Value, any Error>?) }
            state.done = true
            defer { state.continuation = nil }
            return (true, state.continuation)
        }
        continuation?.resume(with: outcome)
        return first
    }
}
