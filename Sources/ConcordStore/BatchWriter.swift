import ConcordCore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Writes one group-commit batch inside the caller's transaction: takes the append lock, reads the head, the
/// streams' versions and known idempotency keys, decides each request on its own, and inserts every accepted event
/// with one statement. Returns one outcome per request, in order.
struct BatchWriter {
    var requests: [AppendRequest]
    var logger: Logger

    struct Head {
        var position: Int64 = 0
        var hash: [UInt8] = EventChain.genesisHash
        var recordedAt = Timestamp(microsecondsSinceEpoch: 0)
    }

    /// The columns of the rows to insert, as arrays for `unnest`.
    struct Rows {
        var positions: [Int64] = []
        var streamTypes: [String] = []
        var streamIDs: [String] = []
        var versions: [Int64] = []
        var eventIDs: [UUID] = []
        var eventTypes: [String] = []
        var schemaVersions: [Int32] = []
        var payloads: [String] = []
        var metadata: [String] = []
        var recordedAt: [String] = []
        var canonical: [ByteBuffer] = []
        var hashes: [ByteBuffer] = []

        mutating func append(_ event: RecordedEvent, canonical: [UInt8]) {
            self.positions.append(event.position)
            self.streamTypes.append(event.stream.type)
            self.streamIDs.append(event.stream.id)
            self.versions.append(event.streamVersion)
            self.eventIDs.append(event.id)
            self.eventTypes.append(event.type)
            self.schemaVersions.append(event.schemaVersion)
            self.payloads.append(String(decoding: CanonicalJSON.encode(event.payload), as: UTF8.self))
            self.metadata.append(String(decoding: CanonicalJSON.encode(event.metadata.jsonValue), as: UTF8.self))
            self.recordedAt.append(event.recordedAt.rfc3339)
            self.canonical.append(ByteBuffer(bytes: canonical))
            self.hashes.append(ByteBuffer(bytes: event.hash))
        }
    }

    struct KeyRows {
        var keys: [String] = []
        var digests: [ByteBuffer] = []
        var results: [AppendResult] = []
    }

    func write(on connection: PostgresConnection) async throws -> [Result<AppendResult, any Error>] {
        try await connection.execute("SELECT pg_advisory_xact_lock(\(EventStore.appendLockKey))", logger: self.logger)
        var head = try await self.readHead(on: connection)
        var versions = try await self.readVersions(on: connection)
        var known = try await self.readKeys(on: connection)
        var rows = Rows()
        var newKeys = KeyRows()
        // Time never runs backwards in the log, even if the clock does.
        let now = max(Timestamp.now(), head.recordedAt)
        var outcomes: [Result<AppendResult, any Error>] = []
        for request in self.requests {
            if let key = request.idempotencyKey, let (digest, original) = known[key] {
                outcomes.append(
                    digest == request.digest
                        ? .success(original)
                        : .failure(
                            EventStoreError(
                                .idempotencyKeyReused, "idempotency key \(key) was used for a different request",
                                stream: request.stream)))
                continue
            }
            let current = versions[request.stream] ?? 0
            guard request.expectedVersion.isSatisfied(byCurrentVersion: current) else {
                outcomes.append(
                    .failure(
                        EventStoreError(
                            .wrongExpectedVersion,
                            "stream \(request.stream) is at version \(current), expected \(request.expectedVersion)",
                            stream: request.stream, currentVersion: current)))
                continue
            }
            let first = (position: head.position + 1, version: current + 1)
            for (offset, data) in request.events.enumerated() {
                var metadata = data.metadata
                metadata.idempotencyKey = metadata.idempotencyKey ?? request.idempotencyKey
                var event = RecordedEvent(
                    position: first.position + Int64(offset), stream: request.stream,
                    streamVersion: first.version + Int64(offset), id: data.id, type: data.type,
                    schemaVersion: data.schemaVersion, payload: data.payload, metadata: metadata, recordedAt: now,
                    hash: [])
                let canonical = EventChain.canonicalBytes(of: event)
                event.hash = EventChain.hash(previous: head.hash, canonical: canonical)
                head.hash = event.hash
                head.position = event.position
                rows.append(event, canonical: canonical)
            }
            versions[request.stream] = current + Int64(request.events.count)
            let result = AppendResult(
                stream: request.stream, firstPosition: first.position, lastPosition: head.position,
                firstVersion: first.version, lastVersion: current + Int64(request.events.count))
            if let key = request.idempotencyKey {
                known[key] = (
                    request.digest,
                    AppendResult(
                        stream: result.stream, firstPosition: result.firstPosition, lastPosition: result.lastPosition,
                        firstVersion: result.firstVersion, lastVersion: result.lastVersion, replayed: true)
                )
                newKeys.keys.append(key)
                newKeys.digests.append(ByteBuffer(bytes: request.digest))
                newKeys.results.append(result)
            }
            outcomes.append(.success(result))
        }
        if !rows.positions.isEmpty {
            try await self.insert(rows, newKeys, lastPosition: head.position, on: connection)
        }
        return outcomes
    }

    private func readHead(on connection: PostgresConnection) async throws -> Head {
        let rows = try await connection.query(
            """
            SELECT position, hash, (extract(epoch FROM recorded_at) * 1000000)::bigint
            FROM events ORDER BY position DESC LIMIT 1
            """, logger: self.logger)
        for try await (position, hash, micros) in rows.decode((Int64, ByteBuffer, Int64).self) {
            return Head(
                position: position, hash: Array(buffer: hash), recordedAt: Timestamp(microsecondsSinceEpoch: micros))
        }
        return Head()
    }

    private func readVersions(on connection: PostgresConnection) async throws -> [StreamName: Int64] {
        let streams = Array(Set(self.requests.map(\.stream)))
        let rows = try await connection.query(
            """
            SELECT s.type, s.id, (SELECT max(e.stream_version) FROM events e WHERE e.stream_type = s.type AND e.stream_id = s.id)
            FROM unnest(\(streams.map(\.type))::text[], \(streams.map(\.id))::text[]) AS s(type, id)
            """, logger: self.logger)
        var versions: [StreamName: Int64] = [:]
        for try await (type, id, version) in rows.decode((String, String, Int64?).self) {
            versions[StreamName(type: type, id: id)] = version ?? 0
        }
        return versions
    }

    private func readKeys(on connection: PostgresConnection) async throws -> [String: ([UInt8], AppendResult)] {
        let keys = self.requests.compactMap(\.idempotencyKey)
        guard !keys.isEmpty else { return [:] }
        let rows = try await connection.query(
            """
            SELECT idempotency_key, request_digest, stream_type, stream_id, first_position, last_position,
                   first_version, last_version
            FROM append_idempotency WHERE idempotency_key = ANY(\(keys)::text[])
            """, logger: self.logger)
        var known: [String: ([UInt8], AppendResult)] = [:]
        for try await (key, digest, type, id, firstPosition, lastPosition, firstVersion, lastVersion) in rows.decode(
            (String, ByteBuffer, String, String, Int64, Int64, Int64, Int64).self)
        {
            known[key] = (
                Array(buffer: digest),
                AppendResult(
                    stream: StreamName(type: type, id: id), firstPosition: firstPosition, lastPosition: lastPosition,
                    firstVersion: firstVersion, lastVersion: lastVersion, replayed: true)
            )
        }
        return known
    }

    /// One statement: the events, the idempotency keys and one NOTIFY for the whole batch (delivered at COMMIT).
    private func insert(
        _ rows: Rows, _ keys: KeyRows, lastPosition: Int64, on connection: PostgresConnection
    ) async throws {
        try await connection.execute(
            """
            WITH inserted_events AS (
                INSERT INTO events (position, stream_type, stream_id, stream_version, event_id, event_type,
                                    schema_version, payload, metadata, recorded_at, canonical, hash)
                SELECT * FROM unnest(\(rows.positions)::bigint[], \(rows.streamTypes)::text[], \(rows.streamIDs)::text[],
                    \(rows.versions)::bigint[], \(rows.eventIDs)::uuid[], \(rows.eventTypes)::text[],
                    \(rows.schemaVersions)::integer[], \(rows.payloads)::text[]::jsonb[], \(rows.metadata)::text[]::jsonb[],
                    \(rows.recordedAt)::text[]::timestamptz[], \(rows.canonical)::bytea[], \(rows.hashes)::bytea[])
            ), inserted_keys AS (
                INSERT INTO append_idempotency (idempotency_key, request_digest, stream_type, stream_id,
                                                first_position, last_position, first_version, last_version)
                SELECT * FROM unnest(\(keys.keys)::text[], \(keys.digests)::bytea[],
                    \(keys.results.map(\.stream.type))::text[], \(keys.results.map(\.stream.id))::text[],
                    \(keys.results.map(\.firstPosition))::bigint[], \(keys.results.map(\.lastPosition))::bigint[],
                    \(keys.results.map(\.firstVersion))::bigint[], \(keys.results.map(\.lastVersion))::bigint[])
            )
            SELECT pg_notify(\(EventStore.notificationChannel), \(String(lastPosition)))
            """, logger: self.logger)
    }
}
