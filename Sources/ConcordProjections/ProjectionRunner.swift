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
public final class ProjectionRunner: Service, Sendable {
    let client: PostgresClient
    let store: EventStore
    let escalator: OverdueEscalator?
    let logger: Logger
    let leaseRetry: Duration
    let pollInterval: Duration
    let sweepInterval: Duration = .seconds(5)
    /// Told the position after each applied page (benchmarks measure lag with it).
    let onApplied: (@Sendable (Int64) -> Void)?
    let checkpoints: CheckpointSchedule?
    private let leading = Atomic<Bool>(false)

    public init(
        client: PostgresClient, store: EventStore, escalator: OverdueEscalator?, logger: Logger,
        leaseRetry: Duration = .seconds(1), pollInterval: Duration = .seconds(1),
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
    }

    /// Whether this process holds the lease now.
    public var isLeader: Bool { self.leading.load(ordering: .relaxed) }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await self.client.withConnection { connection in try await self.leadIfFree(connection) }
                } catch is CancellationError {
                    return
                } catch {
                    if Task.isCancelled { return }
                    self.logger.warning(
                        "projection runner stopped; trying again", metadata: ["error": "\(safeDescription(of: error))"])
                }
                try await Task.sleep(for: self.leaseRetry)
            }
        }
    }

    /// Takes the lease if it is free and runs the projection until the connection fails or the task is cancelled;
    /// returns at once when another process holds it.
    private func leadIfFree(_ connection: PostgresConnection) async throws {
        let rows = try await connection.query(
            "SELECT pg_try_advisory_lock(hashtextextended('concord projection ' || \(CaseTables.name), 0))",
            logger: self.logger)
        var acquired = false
        for try await value in rows.decode(Bool.self) { acquired = value }
        guard acquired else { return }
        self.leading.store(true, ordering: .relaxed)
        self.logger.info("projection lease taken", metadata: ["projection": "\(CaseTables.name)"])
        try await connection.execute(
            "SELECT pg_notify(\(CaseTables.notificationChannel), 'lease')", logger: self.logger)
        do {
            try await self.lead(connection)
        } catch {
            self.leading.store(false, ordering: .relaxed)
            // Back in the pool the connection must not keep the lock (it would block every other process).
            _ = try? await connection.execute(
                "SELECT pg_advisory_unlock(hashtextextended('concord projection ' || \(CaseTables.name), 0))",
                logger: self.logger)
            throw error
        }
    }

    private func lead(_ connection: PostgresConnection) async throws {
        while true {
            var projector = try await CaseProjector.start(
                store: self.store, tables: .live, on: connection, logger: self.logger)
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

    /// Applies the log as it grows; sweeps for overdue complaints whenever caught up, and at least every
    /// `sweepInterval` under a steady load.
    private func follow(_ projector: inout CaseProjector, on connection: PostgresConnection) async throws {
        var lastSweep = ContinuousClock.now
        var lastCheckpoint: ContinuousClock.Instant? = nil
        while true {
            try Task.checkCancellation()
            let generation = self.store.commitGeneration
            let applied = try await projector.step(on: connection)
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
            if applied == 0 { await self.store.waitForCommits(since: generation, timeout: self.pollInterval) }
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
