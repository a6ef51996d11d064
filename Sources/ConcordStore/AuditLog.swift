import ConcordCore
import Crypto
import Foundation
import NIOCore
import PostgresNIO

/// An event with the exact bytes the chain hashed: what exports carry so that an auditor can recompute the chain.
public struct StoredEvent: Sendable {
    public var event: RecordedEvent
    public var canonical: [UInt8]
    public var hash: [UInt8]
}

extension EventStore {
    /// The stored hash of the event at `position`, nil when the log has no such position.
    public func hash(at position: Int64) async throws -> [UInt8]? {
        let rows = try await self.client.query(
            "SELECT hash FROM events WHERE position = \(position)", logger: self.logger)
        for try await hash in rows.decode(ByteBuffer.self) { return Array(buffer: hash) }
        return nil
    }

    /// The last position whose event was recorded at or before `time` (0 when none was).
    public func position(at time: Timestamp) async throws -> Int64 {
        let rows = try await self.client.query(
            """
            SELECT coalesce(max(position), 0) FROM events
            WHERE recorded_at <= timestamptz 'epoch' + \(time.microsecondsSinceEpoch) * interval '1 microsecond'
            """, logger: self.logger)
        for try await position in rows.decode(Int64.self) { return position }
        return 0
    }

    /// Events after `position` up to `last` (inclusive), at most `limit`, with their canonical bytes and hashes.
    public func readStored(
        after position: Int64, through last: Int64 = .max, limit: Int = 1_000
    ) async throws
        -> [StoredEvent]
    {
        try await self.stored(
            self.client.query(
                """
                SELECT canonical, hash FROM events WHERE position > \(position) AND position <= \(last)
                ORDER BY position LIMIT \(limit)
                """, logger: self.logger))
    }

    /// Every event of every stream whose id is `id` (a tracking code names one case), in log order.
    public func readStored(streamID id: String, through last: Int64 = .max) async throws -> [StoredEvent] {
        try await self.stored(
            self.client.query(
                "SELECT canonical, hash FROM events WHERE stream_id = \(id) AND position <= \(last) ORDER BY position",
                logger: self.logger))
    }

    private func stored(_ rows: PostgresRowSequence) async throws -> [StoredEvent] {
        var events: [StoredEvent] = []
        for try await (canonical, hash) in rows.decode((ByteBuffer, ByteBuffer).self) {
            let (bytes, digest) = (Array(buffer: canonical), Array(buffer: hash))
            do {
                events.append(
                    StoredEvent(
                        event: try EventChain.decode(canonical: bytes, hash: digest), canonical: bytes, hash: digest))
            } catch {
                throw EventStoreError(.corruptEvent, error.description)
            }
        }
        return events
    }

    /// Signs the log's head with `key` and appends the checkpoint to the log (stream `checkpoint`), so that it is
    /// kept with the log as well as in the auditors' hands.
    /// `key` is the raw private key (the key type is not `Sendable`).
    public func appendCheckpoint(key: Data, at: Timestamp) async throws -> Checkpoint {
        let head = try await self.head()
        let checkpoint = try Checkpoint.sign(
            position: head.position, hash: head.hash, at: at,
            key: try Curve25519.Signing.PrivateKey(rawRepresentation: key))
        _ = try await self.append(
            to: StreamName(type: Checkpoint.streamType, id: "checkpoint-\(head.position)"), expectedVersion: .any,
            events: [
                EventData(
                    type: Checkpoint.eventType, payload: checkpoint.json,
                    metadata: EventMetadata(actor: "concord:checkpoint", role: "system"))
            ])
        return checkpoint
    }

    /// The checkpoints the log itself holds, in log order (an unreadable one is left out: `verify` names it).
    public func checkpointsInLog() async throws -> [Checkpoint] {
        try await self.allEvents(ofStreamType: Checkpoint.streamType).compactMap { Checkpoint(json: $0.payload) }
    }

    /// What the log says about `checkpoint`: nil when it still holds the vouched-for prefix unchanged.
    public func problem(with checkpoint: Checkpoint) async throws -> String? {
        checkpoint.problem(
            storedHash: try await self.hash(at: checkpoint.position), head: try await self.head().position)
    }
}

/// The export formats: NDJSON of the log's own fields, or CloudEvents 1.0 (JSON). Both carry the canonical bytes
/// (base64) and the chain hash (hex), so that an auditor's own script can recompute the chain.
public enum AuditExport: String, Sendable, CaseIterable {
    case ndjson
    case cloudevents

    /// One line, newline included. `personal`: the event's personal object opened (or shown erased), for an
    /// export made with the master key; it travels beside the stored payload, which stays as hashed.
    public func line(_ stored: StoredEvent, personal: JSONValue? = nil) -> [UInt8] {
        let event = stored.event
        let canonical = JSONValue.string(Data(stored.canonical).base64EncodedString())
        let value: JSONValue
        switch self {
        case .ndjson:
            value = .object([
                "position": .integer(event.position), "stream_type": .string(event.stream.type),
                "stream_id": .string(event.stream.id), "stream_version": .integer(event.streamVersion),
                "event_id": .string(event.id.uuidString.lowercased()), "event_type": .string(event.type),
                "schema_version": .integer(Int64(event.schemaVersion)),
                "recorded_at": .string(event.recordedAt.rfc3339),
                "payload": event.payload, "metadata": event.metadata.jsonValue, "canonical": canonical,
                "hash": .string(stored.hash.hexString),
            ])
        case .cloudevents:
            value = .object([
                "specversion": "1.0", "id": .string(event.id.uuidString.lowercased()),
                "source": .string("/concord/\(event.stream.type)/\(event.stream.id)"), "type": .string(event.type),
                "subject": .string(event.stream.id), "time": .string(event.recordedAt.rfc3339),
                "datacontenttype": "application/json",
                "dataschema": .string("urn:concord:\(event.type):v\(event.schemaVersion)"),
                "data": event.payload, "concordposition": .integer(event.position),
                "concordstreamversion": .integer(event.streamVersion), "concordcanonical": canonical,
                "concordhash": .string(stored.hash.hexString),
            ])
        }
        guard let personal, case .object(var members) = value else {
            return CanonicalJSON.encode(value) + [UInt8(ascii: "\n")]
        }
        members[self == .ndjson ? "personal" : "concordpersonal"] = personal
        return CanonicalJSON.encode(.object(members)) + [UInt8(ascii: "\n")]
    }
}
