import ConcordCore
import ConcordStore
import Foundation
import Logging
import PostgresNIO

/// The `outbox_messages` table (sql/0015_outbox.sql): what must be sent, who is sending it now, and what came of it.
public struct OutboxTable: Sendable {
    let client: PostgresClient
    let logger: Logger
    let deadline: Duration = .seconds(5)

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// A message claimed for an attempt (or found by its gateway id).
    public struct Row: Sendable {
        public var message: OutboxMessage
        public var attempts: Int
        public var status: String
        public var gateway: String?
        public var gatewayMessageID: String?
        public var lastError: String?
    }

    static let columns =
        "id, stream_type, stream_id, purpose, recipient, language, params::text, reply_to, attempts, status, gateway, "
        + "gateway_message_id, last_error"

    public func checkpoint() async throws -> Int64 {
        let rows = try await self.client.query(
            "SELECT position FROM outbox_checkpoint WHERE name = 'outbox'", acquiringWithin: self.deadline,
            logger: self.logger)
        return try rows.first?.decode(Int64.self) ?? 0
    }

    /// Adds `messages` (those already there stay as they are), marks what the log says was sent or failed, and
    /// moves the checkpoint from `from` to `to`; refused when another process moved it meanwhile.
    public func write(
        _ messages: [OutboxMessage], done: [(id: String, outcome: Delivery.Outcome)], from: Int64, to: Int64
    ) async throws {
        let logger = self.logger
        try await self.client.withConnection(acquiringWithin: self.deadline) { connection in
            try await connection.withCheckedTransaction(logger: logger) { connection in
                let moved = try await connection.execute(
                    "UPDATE outbox_checkpoint SET position = \(to) WHERE name = 'outbox' AND position = \(from)",
                    logger: logger)
                guard moved.metadata.rows == 1 else { throw CheckpointMovedElsewhere() }
                for message in messages { try await Self.insert(message, on: connection, logger: logger) }
                for (id, outcome) in done {
                    // What the log records is done, and was recorded: a rebuilt outbox does not send it again.
                    try await connection.execute(
                        """
                        UPDATE outbox_messages SET status = \(outcome.rawValue), recorded = true, reply_to = NULL
                        WHERE id = \(id) AND (status = 'pending' OR \(outcome.rawValue) = 'delivered')
                        """, logger: logger)
                }
            }
        }
    }

    struct CheckpointMovedElsewhere: Error {}

    /// Adds one message unless a message with its id exists (a gateway's retry of the same question).
    public func enqueue(_ message: OutboxMessage) async throws {
        let logger = self.logger
        try await self.client.withConnection(acquiringWithin: self.deadline) { connection in
            try await Self.insert(message, on: connection, logger: logger)
        }
    }

    static func insert(_ message: OutboxMessage, on connection: PostgresConnection, logger: Logger) async throws {
        let params = String(decoding: try JSONEncoder().encode(message.params), as: UTF8.self)
        try await connection.execute(
            """
            INSERT INTO outbox_messages (id, stream_type, stream_id, purpose, recipient, language, params, reply_to,
                                         source_position)
            VALUES (\(message.id), \(message.stream?.type), \(message.stream?.id), \(message.purpose),
                    \(message.recipient), \(message.language), \(params)::jsonb, \(message.replyTo),
                    \(message.sourcePosition))
            ON CONFLICT (id) DO NOTHING
            """, logger: logger)
    }

    /// Takes up to `limit` messages whose time has come, for `lease`: another pass (here or in another process)
    /// leaves them alone until then, and takes them again if this one died before saying what happened.
    public func claimDue(limit: Int, lease: Duration) async throws -> [Row] {
        let seconds = Double(lease.components.seconds)
        let rows = try await self.client.query(
            """
            UPDATE outbox_messages SET attempts = attempts + 1,
                   next_attempt_at = now() + make_interval(secs => \(seconds))
            WHERE id IN (SELECT id FROM outbox_messages WHERE status = 'pending' AND next_attempt_at <= now()
                         ORDER BY next_attempt_at, source_position LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING \(unescaped: Self.columns)
            """, acquiringWithin: self.deadline, logger: self.logger)
        return try rows.map(Self.row)
    }

    /// Messages sent or failed whose outcome is not in the log yet.
    public func unrecorded(limit: Int) async throws -> [Row] {
        let rows = try await self.client.query(
            """
            SELECT \(unescaped: Self.columns) FROM outbox_messages
            WHERE status IN ('sent', 'failed') AND NOT recorded LIMIT \(limit)
            """, acquiringWithin: self.deadline, logger: self.logger)
        return try rows.map(Self.row)
    }

    /// The message a gateway's delivery report names.
    public func find(gateway: String, gatewayMessageID: String) async throws -> Row? {
        let rows = try await self.client.query(
            """
            SELECT \(unescaped: Self.columns) FROM outbox_messages
            WHERE gateway = \(gateway) AND gateway_message_id = \(gatewayMessageID)
            """, acquiringWithin: self.deadline, logger: self.logger)
        return try rows.first.map(Self.row)
    }

    static func row(_ row: PostgresRow) throws -> Row {
        let (
            id, type, stream, purpose, recipient, language, params, replyTo, attempts, status, gateway, gatewayID,
            lastError
        ) = try row.decode(
            (
                String, String?, String?, String, String, String, String, String?, Int32, String, String?, String?,
                String?
            ).self)
        let decoded = (try? JSONDecoder().decode([String: String].self, from: Data(params.utf8))) ?? [:]
        let message = OutboxMessage(
            id: id, stream: both(type, stream).map { StreamName(type: $0.0, id: $0.1) }, purpose: purpose,
            recipient: recipient, language: language, params: decoded, replyTo: replyTo)
        return Row(
            message: message, attempts: Int(attempts), status: status, gateway: gateway, gatewayMessageID: gatewayID,
            lastError: lastError)
    }

    /// Sets what came of an attempt: `sent` or `failed` (final), or `pending` again after `retryIn`.
    public func settle(
        _ id: String, status: String, gateway: String?, gatewayMessageID: String? = nil, error: String? = nil,
        retryIn: Duration = .zero, recorded: Bool = false
    ) async throws {
        let seconds = Double(retryIn.components.seconds) + Double(retryIn.components.attoseconds) / 1e18
        _ = try await self.client.query(
            """
            UPDATE outbox_messages SET status = \(status), gateway = COALESCE(\(gateway), gateway),
                   gateway_message_id = COALESCE(\(gatewayMessageID), gateway_message_id), last_error = \(error),
                   next_attempt_at = now() + make_interval(secs => \(seconds)), recorded = recorded OR \(recorded),
                   sent_at = CASE WHEN \(status) = 'sent' THEN now() ELSE sent_at END,
                   reply_to = CASE WHEN \(status) = 'pending' THEN reply_to END
            WHERE id = \(id)
            """, acquiringWithin: self.deadline, logger: self.logger)
    }

    public func markRecorded(_ id: String) async throws {
        _ = try await self.client.query(
            "UPDATE outbox_messages SET recorded = true WHERE id = \(id)", acquiringWithin: self.deadline,
            logger: self.logger)
    }
}

private func both<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}
