import ConcordCore
import CoreMetrics
import Crypto
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// What an append wrote (or, for a retry with a known idempotency key, what the original append wrote).
public struct AppendResult: Sendable, Hashable {
    public var stream: StreamName
    public var firstPosition: Int64
    public var lastPosition: Int64
    public var firstVersion: Int64
    public var lastVersion: Int64
    /// True when this answer repeats an earlier append with the same idempotency key; nothing was written now.
    public var replayed: Bool
    /// When the events were recorded (their `recorded_at`); nil in a replayed answer, whose time is in the log.
    public var recordedAt: Timestamp?

    public init(
        stream: StreamName, firstPosition: Int64, lastPosition: Int64, firstVersion: Int64, lastVersion: Int64,
        replayed: Bool = false, recordedAt: Timestamp? = nil
    ) {
        self.recordedAt = recordedAt
        self.stream = stream
        self.firstPosition = firstPosition
        self.lastPosition = lastPosition
        self.firstVersion = firstVersion
        self.lastVersion = lastVersion
        self.replayed = replayed
    }
}

/// The PostgreSQL event log.
///
/// Appends are serialized under one transaction-level advisory lock, which makes positions gap-free in commit
/// order and keeps the hash chain linear. Throughput comes from group commit: one writer per process takes every
/// pending append into one transaction and answers each caller after COMMIT. Run the store as a service (it runs
/// the writer and the LISTEN connection that wakes followers).
public final class EventStore: Service, Sendable {
    public static let notificationChannel = "concord_events"

    public let client: PostgresClient
    let logger: Logger
    let queue: AppendQueue
    let wakeup = Wakeup()
    /// Batches and events committed by this process's writer, also reported through swift-metrics.
    public let statistics: AppendStatistics
    /// How long a follower waits for a notification before it polls anyway.
    public let pollInterval: Duration
    /// How long an append or a read waits for a database connection before it fails with `DatabaseUnavailable`
    /// (nothing sent, nothing changed): callers answering a request are not kept waiting through an outage.
    public let connectionDeadline: Duration

    /// `metrics` receives the writer's figures (batches, batch sizes, commit latency); by default the process-wide
    /// swift-metrics backend.
    public init(
        client: PostgresClient, logger: Logger, pollInterval: Duration = .seconds(1),
        maximumEventsPerBatch: Int = 2_000,
        metrics: any MetricsFactory = MetricsSystem.factory, connectionDeadline: Duration = .seconds(5)
    ) {
        self.statistics = AppendStatistics(factory: metrics)
        self.connectionDeadline = connectionDeadline
        self.client = client
        self.logger = logger
        self.pollInterval = pollInterval
        self.queue = AppendQueue(maximumEventsPerBatch: maximumEventsPerBatch)
    }

    // MARK: Append

    /// Appends `events` to `stream` if its version is as expected, atomically; returns their positions and versions.
    ///
    /// With an `idempotencyKey` already stored, returns the original result (`replayed`) and writes nothing; the
    /// same key with a different stream or different events is refused with `idempotencyKeyReused`.
    ///
    /// `requestDigest` replaces the default digest (of stream and events) when the caller identifies a request by
    /// something else, such as an HTTP request's method, path and body: a retry then matches even though the events
    /// it would produce differ (their time, say).
    public func append(
        to stream: StreamName, expectedVersion: ExpectedVersion, events: [EventData], idempotencyKey: String? = nil,
        requestDigest: [UInt8]? = nil
    ) async throws -> AppendResult {
        guard !events.isEmpty else {
            throw EventStoreError(.invalidAppend, "an append needs at least one event", stream: stream)
        }
        guard !stream.type.isEmpty, !stream.id.isEmpty, !events.contains(where: { $0.type.isEmpty }) else {
            throw EventStoreError(
                .invalidAppend, "stream type, stream id and event types must not be empty", stream: stream)
        }
        if case .exact(let version) = expectedVersion, version < 1 {
            throw EventStoreError(
                .invalidAppend, "an exact expected version starts at 1; use noStream for a new stream")
        }
        let digest = requestDigest ?? Self.digest(stream: stream, events: events)
        return try await withCheckedThrowingContinuation { continuation in
            let request = AppendRequest(
                stream: stream, expectedVersion: expectedVersion, events: events, idempotencyKey: idempotencyKey,
                digest: digest, reply: continuation)
            if !self.queue.enqueue(request) {
                continuation.resume(throwing: EventStoreError(.shuttingDown, "the event store is shutting down"))
            }
        }
    }

    /// SHA-256 over the stream and each event's type, schema version and payload (not ids or metadata, which a
    /// client may legitimately regenerate on retry).
    static func digest(stream: StreamName, events: [EventData]) -> [UInt8] {
        let value: JSONValue = .array(
            [.string(stream.type), .string(stream.id)]
                + events.map { .array([.string($0.type), .integer(Int64($0.schemaVersion)), $0.payload]) })
        return Array(SHA256.hash(data: CanonicalJSON.encode(value)))
    }

    /// How many appends of this process wait for the writer: what a graceful shutdown still commits.
    public var pendingAppends: Int { self.queue.count }

    /// False once a shutdown began: appends are refused with `shuttingDown` from then on.
    public var acceptsAppends: Bool { !self.queue.isClosed }

    // MARK: Service

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.listenForCommits() }
            await withTaskCancellationHandler {
                await withGracefulShutdownHandler {
                    await self.writeBatches()
                } onGracefulShutdown: {
                    self.queue.close()
                }
            } onCancel: {
                self.queue.close()
            }
            group.cancelAll()
        }
    }

    /// The single writer: until the queue closes and drains, commits each batch and answers its callers. It keeps
    /// one connection for as long as that connection works, and leases another when it fails. A batch that finds no
    /// connection within `connectionDeadline` fails with `DatabaseUnavailable`: nothing of it was sent.
    private func writeBatches() async {
        var batch = await self.queue.nextBatch()
        while let current = batch {
            do {
                batch = try await self.client.withConnection(acquiringWithin: self.connectionDeadline) { connection in
                    await self.writeBatches(from: current, on: connection)
                }
            } catch {
                for request in current { request.reply.resume(throwing: Self.unwrap(error)) }
                batch = await self.queue.nextBatch()
            }
        }
    }

    /// Commits `first` and the batches after it on `connection`. Returns nil once the queue is closed and drained,
    /// or the next batch (not tried yet) when the connection failed: a connection that failed is not used again.
    private func writeBatches(
        from first: [AppendRequest], on connection: PostgresConnection
    ) async -> [AppendRequest]? {
        var memory = WriterMemory()
        var batch = first
        while true {
            let usable = await self.commit(batch, on: connection, memory: &memory)
            guard let next = await self.queue.nextBatch() else { return nil }
            if !usable || connection.isClosed { return next }
            batch = next
        }
    }

    /// Commits a batch and answers its callers; returns false when the connection failed under it.
    private func commit(
        _ batch: [AppendRequest], on connection: PostgresConnection, memory: inout WriterMemory
    ) async -> Bool {
        do {
            let start = ContinuousClock.now
            let outcomes = try await BatchWriter(requests: batch, logger: self.logger).write(
                on: connection, memory: &memory)
            self.statistics.record(
                batch: batch.count,
                events: outcomes.reduce(0) { total, outcome in
                    guard case .success(let result) = outcome, !result.replayed else { return total }
                    return total + Int(result.lastPosition - result.firstPosition + 1)
                }, duration: ContinuousClock.now - start)
            self.wakeup.signal()
            for (request, outcome) in zip(batch, outcomes) { request.reply.resume(with: outcome) }
            return true
        } catch {
            memory = WriterMemory()
            self.statistics.recordFailure()
            let failed = connection.isClosed || Self.isConnectionFailure(Self.unwrap(error))
            guard batch.count > 1, !failed else {
                for request in batch { request.reply.resume(throwing: Self.unwrap(error)) }
                return !failed
            }
            // One request may carry what the database refuses (a duplicate event id, say): retry each alone so
            // that it fails by itself and its batch-mates still land.
            self.logger.warning(
                "batch append failed; retrying its requests one by one",
                metadata: ["error": "\(safeDescription(of: Self.unwrap(error)))"])
            var usable = true
            for request in batch {
                if usable {
                    usable = await self.commit([request], on: connection, memory: &memory)
                } else {
                    request.reply.resume(throwing: Self.unwrap(error))
                }
            }
            return usable
        }
    }

    /// An error that says the connection itself is gone (no answer from the server, or a connection or shutdown
    /// SQLSTATE), or reached a server that cannot write (25006: a standby, a demoted primary), as opposed to a
    /// statement the server refused. Such a connection is not used again.
    static func isConnectionFailure(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return false }
        guard let state = error.serverInfo?[.sqlState] else { return true }
        return state.hasPrefix("08") || state.hasPrefix("57P") || state == "25006"
    }

    static func unwrap(_ error: any Error) -> any Error {
        if let transactionError = error as? PostgresTransactionError {
            return transactionError.closureError ?? transactionError.commitError ?? transactionError.beginError ?? error
        }
        return error
    }

    /// Holds one connection LISTENing for other processes' commits; after a failure, takes a new connection (the
    /// dead one goes back to the pool, which drops it) after a jittered backoff. Followers also poll, so a
    /// notification lost while reconnecting only delays them.
    private func listenForCommits() async {
        var backoff = Backoff()
        while !Task.isCancelled {
            let started = ContinuousClock.now
            do {
                try await self.client.withConnection { connection in
                    try await connection.listen(on: Self.notificationChannel) { notifications in
                        self.wakeup.signal()  // anything committed while not listening
                        for try await _ in notifications { self.wakeup.signal() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                self.logger.warning(
                    "LISTEN connection lost; followers poll until it is back",
                    metadata: ["error": "\(safeDescription(of: error))"])
            }
            // A connection that listened for a while was a success: the next failure starts the backoff afresh.
            if ContinuousClock.now - started > .seconds(10) { backoff.reset() }
            do { try await backoff.wait() } catch { return }
        }
    }

    // MARK: Read

    /// The last position and its hash, or (0, genesis) for an empty log.
    public func head() async throws -> (position: Int64, hash: [UInt8]) {
        let rows = try await self.rows("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")
        for row in rows {
            let (position, hash) = try row.decode((Int64, ByteBuffer).self)
            return (position, Array(buffer: hash))
        }
        return (0, EventChain.genesisHash)
    }

    /// The stored result and request digest of an append made with `idempotencyKey`, if there was one.
    public func idempotentAppend(forKey idempotencyKey: String) async throws -> (digest: [UInt8], result: AppendResult)?
    {
        let rows = try await self.rows(
            """
            SELECT request_digest, stream_type, stream_id, first_position, last_position, first_version, last_version
            FROM append_idempotency WHERE idempotency_key = \(idempotencyKey)
            """)
        for row in rows {
            let (digest, type, id, firstPosition, lastPosition, firstVersion, lastVersion) = try row.decode(
                (ByteBuffer, String, String, Int64, Int64, Int64, Int64).self)
            let result = AppendResult(
                stream: StreamName(type: type, id: id), firstPosition: firstPosition, lastPosition: lastPosition,
                firstVersion: firstVersion, lastVersion: lastVersion, replayed: true)
            return (Array(buffer: digest), result)
        }
        return nil
    }

    /// The current version of a stream: 0 when it has no events.
    public func version(of stream: StreamName) async throws -> Int64 {
        let rows = try await self.rows(
            "SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_type = \(stream.type) AND stream_id = \(stream.id)"
        )
        for row in rows { return try row.decode(Int64.self) }
        return 0
    }

    /// A stream's events from `version` on, at most `limit`.
    public func readStream(
        _ stream: StreamName, from version: Int64 = 1, limit: Int = 1_000
    ) async throws -> [RecordedEvent] {
        try await self.decode(
            self.rows(
                """
                SELECT canonical, hash FROM events
                WHERE stream_type = \(stream.type) AND stream_id = \(stream.id) AND stream_version >= \(version)
                ORDER BY stream_version LIMIT \(limit)
                """))
    }

    /// Events after `position` in log order, at most `limit`. A page never skips an event: a position is visible
    /// only once every lower position is (see docs/event-log.md).
    public func readAll(after position: Int64, limit: Int = 1_000) async throws -> [RecordedEvent] {
        try await self.decode(
            self.rows(
                "SELECT canonical, hash FROM events WHERE position > \(position) ORDER BY position LIMIT \(limit)"))
    }

    /// Events of streams of type `streamType` after `position` in log order, at most `limit`.
    public func readAll(after position: Int64, streamType: String, limit: Int = 1_000) async throws -> [RecordedEvent] {
        try await self.decode(
            self.rows(
                """
                SELECT canonical, hash FROM events WHERE stream_type = \(streamType) AND position > \(position)
                ORDER BY position LIMIT \(limit)
                """))
    }

    /// Every event of streams of type `streamType` up to `position`, in log order, read page by page: the
    /// reference data as it stood at a position, the checkpoints the log holds.
    public func allEvents(
        ofStreamType streamType: String, through position: Int64 = .max, pageSize: Int = 1_000
    ) async throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        var after: Int64 = 0
        while true {
            let page = try await self.readAll(after: after, streamType: streamType, limit: pageSize)
            events += page.prefix { $0.position <= position }
            guard let last = page.last, page.count == pageSize, last.position <= position else { return events }
            after = last.position
        }
    }

    /// A read's rows, on a connection had within `connectionDeadline`.
    private func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await self.client.query(query, acquiringWithin: self.connectionDeadline, logger: self.logger)
    }

    private func decode(_ rows: [PostgresRow]) async throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        for row in rows {
            let (canonical, hash) = try row.decode((ByteBuffer, ByteBuffer).self)
            do {
                events.append(
                    try EventChain.decode(
                        canonical: Array(buffer: canonical), hash: Array(buffer: hash), checkingCanonicalForm: false))
            } catch {
                throw EventStoreError(.corruptEvent, error.description)
            }
        }
        return events
    }

    /// A counter that moves whenever events may have been committed (by this process or, via NOTIFY, another). Read
    /// it before reading the log, then `waitForCommits(since:timeout:)`: a commit in between is never missed.
    public var commitGeneration: UInt64 { self.wakeup.generation }

    /// Returns when a commit has been seen since `generation`, after `timeout`, or when the task is cancelled.
    public func waitForCommits(since generation: UInt64, timeout: Duration) async {
        await self.wakeup.wait(since: generation, timeout: timeout)
    }

    /// Follows the log from after `position`: catches up, then waits for new events (woken by NOTIFY, polling every
    /// `pollInterval` in case a notification is lost). Ends when the consuming task is cancelled.
    public func subscribe(after position: Int64, pageSize: Int = 1_000) -> EventSubscription {
        EventSubscription(store: self, after: position, pageSize: pageSize)
    }
}

/// The log as an `AsyncSequence`, from a position on, without end.
public struct EventSubscription: AsyncSequence, Sendable {
    public typealias Element = RecordedEvent
    let store: EventStore
    let after: Int64
    let pageSize: Int

    public func makeAsyncIterator() -> Iterator {
        Iterator(store: self.store, position: self.after, pageSize: self.pageSize)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let store: EventStore
        var position: Int64
        let pageSize: Int
        var buffered: [RecordedEvent] = []
        var index = 0

        public mutating func next() async throws -> RecordedEvent? {
            while self.index == self.buffered.count {
                if Task.isCancelled { return nil }
                let generation = self.store.wakeup.generation
                self.buffered = try await self.store.readAll(after: self.position, limit: self.pageSize)
                self.index = 0
                if self.buffered.isEmpty {
                    await self.store.wakeup.wait(since: generation, timeout: self.store.pollInterval)
                }
            }
            defer { self.index += 1 }
            let event = self.buffered[self.index]
            self.position = event.position
            return event
        }
    }
}
