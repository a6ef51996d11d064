import ConcordCore
import ConcordStore
import Crypto
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Runs the `cases` projection in a `concord serve` process: follows the log from the checkpoint and keeps the
/// tables current, and sweeps for complaints to escalate as overdue.
///
/// With several processes on one database exactly one runs it: the one holding the projection's lease, a
/// session-level advisory lock taken on the connection that also does the writes. When that process dies its
/// connection closes, the lock goes with it, and another process takes the lease at its next try (every
/// `leaseRetry`, 1 s by default). The checkpoint guard in `CaseTables.write` keeps a stale leader from writing.
///
/// The database may restart or go away under it: the leader checks its lease connection whenever it is idle (a
/// session that is gone took the lock with it) and gives the lease up at the first failure; it then tries again, on
/// a new connection, after a jittered backoff. A lock held by a session that shows no sign of life for
/// `staleLeaseAfter` (its process died without its connection closing, as over a broken network) is ended, so that a
/// live process can take the lease.
public final class ProjectionRunner: Service, Sendable {
    let client: PostgresClient
    let store: EventStore
    let escalator: OverdueEscalator?
    let logger: Logger
    let leaseRetry: Duration
    let pollInterval: Duration
    let sweepInterval: Duration = .seconds(5)
    /// How long a heartbeat on the lease connection may take before the connection is taken for dead.
    let heartbeatDeadline: Duration = .seconds(5)
    /// The same for a single statement, and for a step (a page of the log read, folded and written).
    let statementDeadline: Duration = .seconds(10)
    let stepDeadline: Duration = .seconds(120)
    /// How long the lease holder's session may stay idle before another process ends it; well above anything a live
    /// leader does between two statements on its lease connection.
    let staleLeaseAfter: Duration
    /// Told the position after each applied page (benchmarks measure lag with it).
    let onApplied: (@Sendable (Int64) -> Void)?
    let checkpoints: CheckpointSchedule?
    private let leading = Atomic<Bool>(false)

    public init(
        client: PostgresClient, store: EventStore, escalator: OverdueEscalator?, logger: Logger,
        leaseRetry: Duration = .seconds(1), pollInterval: Duration = .seconds(1),
        staleLeaseAfter: Duration = .seconds(60),
        checkpoints: CheckpointSchedule? = nil, onApplied: (@Sendable (Int64) -> Void)? = nil
    ) {
        self.onApplied = onApplied
        self.checkpoints = checkpoints
        self.client = client
        self.store = store
        self.escalator = escalator
        self.logger = logger
        self.leaseRetry = leaseRetry
        self.pollInterval = pollInterval
        self.staleLeaseAfter = staleLeaseAfter
    }

    /// Whether this process holds the lease now.
    public var isLeader: Bool { self.leading.load(ordering: .relaxed) }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await self.runUntilCancelled() }
        } catch is CancellationError {
            return
        }
    }

    /// Tries for the lease every `leaseRetry`; after a failure (the database restarted or went away) tries again
    /// after a jittered backoff, never on the connection that failed.
    private func runUntilCancelled() async throws {
        var backoff = Backoff(initial: .milliseconds(100), maximum: max(self.leaseRetry, .seconds(2)))
        while !Task.isCancelled {
            do {
                try await self.client.withConnection(acquiringWithin: .seconds(10)) { connection in
                    try await self.leadIfFree(connection)
                }
                backoff.reset()
                try await Task.sleep(for: self.leaseRetry)
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                self.logger.warning(
                    "projection runner lost the database; trying again",
                    metadata: ["error": "\(safeDescription(of: error))"])
                try await backoff.wait()
            }
        }
    }

    /// Takes the lease if it is free and runs the projection until the connection fails or the task is cancelled;
    /// returns at once when another live process holds it.
    private func leadIfFree(_ connection: PostgresConnection) async throws {
        let logger = self.logger
        let acquired = try await connection.run(within: self.statementDeadline) { connection in
            let rows = try await connection.query(
                "SELECT pg_try_advisory_lock(hashtextextended('concord projection ' || \(CaseTables.name), 0))",
                logger: logger)
            var acquired = false
            for try await value in rows.decode(Bool.self) { acquired = value }
            return acquired
        }
        guard acquired else {
            try await self.endStaleLease(on: connection)
            return
        }
        self.leading.store(true, ordering: .relaxed)
        self.logger.info("projection lease taken", metadata: ["projection": "\(CaseTables.name)"])
        defer { self.leading.store(false, ordering: .relaxed) }
        do {
            _ = try await connection.run(within: self.statementDeadline) { connection in
                try await connection.execute(
                    "SELECT pg_notify(\(CaseTables.notificationChannel), 'lease')", logger: logger)
            }
            try await self.lead(connection)
        } catch {
            self.leading.store(false, ordering: .relaxed)
            self.logger.info("projection lease given up", metadata: ["projection": "\(CaseTables.name)"])
            // Back in the pool a live connection must not keep the lock (it would block every other process); a
            // dead one is dropped by the pool, and its session took the lock with it.
            _ = try? await connection.run(within: self.statementDeadline) { connection in
                try await connection.execute(
                    "SELECT pg_advisory_unlock(hashtextextended('concord projection ' || \(CaseTables.name), 0))",
                    logger: logger)
            }
            throw error
        }
    }

    /// Ends the session holding the lease when it has been idle for longer than `staleLeaseAfter`: a live leader
    /// touches its lease connection at least every `pollInterval`.
    private func endStaleLease(on connection: PostgresConnection) async throws {
        let (stale, logger) = (Double(self.staleLeaseAfter.components.seconds), self.logger)
        let ended = try await connection.run(within: self.statementDeadline) { connection in
            let rows = try await connection.query(
                """
                SELECT pg_terminate_backend(a.pid)
                FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid,
                     (SELECT hashtextextended('concord projection ' || \(CaseTables.name), 0) AS key) k
                WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND l.classid = ((k.key >> 32) & 4294967295)::oid AND l.objid = (k.key & 4294967295)::oid
                  AND a.state = 'idle' AND a.state_change < now() - make_interval(secs => \(stale))
                """, logger: logger)
            var ended = false
            for try await value in rows.decode(Bool.self) { ended = ended || value }
            return ended
        }
        if ended {
            self.logger.warning(
                "ended a stale projection lease (its holder showed no sign of life)",
                metadata: ["projection": "\(CaseTables.name)"])
        }
    }

    private func lead(_ connection: PostgresConnection) async throws {
        while true {
            let (store, logger) = (self.store, self.logger)
            var projector = try await connection.run(within: self.stepDeadline) { connection in
                try await CaseProjector.start(store: store, tables: .live, on: connection, logger: logger)
            }
            do {
                try await self.follow(&projector, on: connection)
            } catch let moved as CheckpointMoved {
                // A rebuild swapped the tables in: start again from their checkpoint.
                self.logger.info("projection restarts", metadata: ["reason": "\(moved.description)"])
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42P01" {
                self.logger.info("projection tables were swapped; restarting")
            }
        }
    }

    /// Proves the lease connection alive (and so the lease still held: a session-level lock lasts as long as its
    /// session); a connection that does not answer in time is closed and taken for dead.
    private func heartbeat(_ connection: PostgresConnection) async throws {
        let logger = self.logger
        try await connection.run(within: self.heartbeatDeadline) { connection in
            _ = try await connection.execute("SELECT 1", logger: logger)
        }
    }

    /// Applies the log as it grows; sweeps for overdue complaints whenever caught up, and at least every
    /// `sweepInterval` under a steady load.
    private func follow(_ projector: inout CaseProjector, on connection: PostgresConnection) async throws {
        var lastSweep = ContinuousClock.now
        var lastCheckpoint: ContinuousClock.Instant? = nil
        while true {
            try Task.checkCancellation()
            let generation = self.store.commitGeneration
            let current = projector
            let (applied, next) = try await connection.run(within: self.stepDeadline) { connection in
                var projector = current
                return (try await projector.step(on: connection), projector)
            }
            projector = next
            if applied > 0 { self.onApplied?(projector.position) }
            if applied == 0 || ContinuousClock.now - lastSweep > self.sweepInterval {
                lastSweep = ContinuousClock.now
                await self.sweep(catalog: projector.catalog)
            }
            if let schedule = self.checkpoints,
                lastCheckpoint.map({ ContinuousClock.now - $0 >= schedule.interval }) ?? true
            {
                lastCheckpoint = ContinuousClock.now
                await self.signCheckpoint(schedule)
            }
            if applied == 0 {
                try await self.heartbeat(connection)
                await self.store.waitForCommits(since: generation, timeout: self.pollInterval)
            }
        }
    }

    /// Signs the head unless nothing but the last checkpoint was appended since (an idle log stays as it is).
    private func signCheckpoint(_ schedule: CheckpointSchedule) async {
        do {
            let head = try await self.store.head().position
            let last = try await self.store.readAll(after: head - 1, limit: 1).first
            if last?.stream.type == Checkpoint.streamType { return }
            let checkpoint = try await self.store.appendCheckpoint(key: schedule.key, at: schedule.clock.now())
            self.logger.info("checkpoint signed", metadata: ["position": "\(checkpoint.position)"])
        } catch {
            self.logger.warning("checkpoint failed; next time", metadata: ["error": "\(safeDescription(of: error))"])
        }
    }

    private func sweep(catalog: ReferenceCatalog) async {
        guard let escalator = self.escalator else { return }
        do {
            try await escalator.sweep(catalog: catalog)
        } catch {
            self.logger.warning("overdue sweep failed; next time", metadata: ["error": "\(safeDescription(of: error))"])
        }
    }
}

/// When the leader signs the log's head: every `interval`, with `key`.
public struct CheckpointSchedule: Sendable {
    /// The private key's raw bytes (the key type itself is not `Sendable`).
    public var key: Data
    public var interval: Duration
    public var clock: WallClock

    public init(key: Curve25519.Signing.PrivateKey, interval: Duration, clock: WallClock = .system) {
        self.key = key.rawRepresentation
        self.interval = interval
        self.clock = clock
    }
}
