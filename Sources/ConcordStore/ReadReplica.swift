import CoreMetrics
import Logging
import PostgresNIO

/// The read-only server of `DATABASE_READ_URL` (usually a hot standby): the audit reads that tolerate staleness run
/// there, off the primary. A standby cannot LISTEN, so nothing here waits for notifications: each read first asks
/// the server how far it is (`status`), and the answer says so.
public struct ReadReplica: Sendable {
    public let client: PostgresClient
    /// Reads on the replica. Never run as a service: it neither appends nor listens.
    public let store: EventStore
    let logger: Logger

    /// How far the replica is: the log's head it has replayed, and how many seconds behind the primary it is.
    public struct Status: Sendable, Hashable {
        public var position: Int64
        /// 0 when nothing received waits to be replayed (or the server is a primary); else the time since the last
        /// transaction it replayed committed on the primary: an upper bound when the primary was idle before.
        public var lagSeconds: Double
    }

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
        // Its own figures would duplicate the primary store's names, and it never appends: none.
        self.store = EventStore(client: client, logger: logger, metrics: NOOPMetricsHandler.instance)
    }

    /// The replica's head and lag, within `deadline` (an unreachable replica throws `DatabaseUnavailable`).
    public func status(within deadline: Duration = .seconds(2)) async throws -> Status {
        let rows = try await self.client.query(
            """
            SELECT coalesce((SELECT max(position) FROM events), 0)::bigint,
                CASE WHEN NOT pg_is_in_recovery() THEN 0::float8
                     WHEN pg_last_wal_receive_lsn() IS NOT NULL
                          AND pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0::float8
                     ELSE greatest(0, coalesce(
                          extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8, 0)) END
            """, acquiringWithin: deadline, answeringWithin: deadline, logger: self.logger)
        for row in rows {
            let (position, lag) = try row.decode((Int64, Double).self)
            return Status(position: position, lagSeconds: lag)
        }
        return Status(position: 0, lagSeconds: 0)
    }
}
