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

        mutating func append(_ event: RecordedEvent, canonical: [UInt8], payload: [UInt8], metadata: [UInt8]) {
            self.positions.append(event.position)
            self.streamTypes.append(event.stream.type)
            self.streamIDs.append(event.stream.id)
            self.versions.append(event.streamVersion)
            self.eventIDs.append(event.id)
            self.eventTypes.append(event.type)
            self.schemaVersions.append(event.schemaVersion)
            self.payloads.append(String(decoding: payload, as: UTF8.self))
            self.metadata.append(String(decoding: metadata, as: UTF8.self))
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

    /// A batch decided against one head: each request's outcome and the rows to insert.
    struct Plan {
        var head: Head
        /// The version each appended stream had before the batch, as the plan assumed.
        var versionsBefore: [StreamName: Int64] = [:]
        /// The head after the batch.
        var headAfter = Head()
        var versionsAfter: [StreamName: Int64] = [:]
        var outcomes: [Result<AppendResult, any Error>] = []
        var rows = Rows()
        var keys = KeyRows()
    }

    /// What the log holds for this batch, read in one statement (one snapshot).
    struct Context {
        var head = Head()
        var versions: [StreamName: Int64] = [:]
        var known: [String: ([UInt8], AppendResult)] = [:]
    }

    /// One round trip per batch when the writer's memory of the log is right: `append_batch` checks it under the
    /// lock and commits. Otherwise (another process appended, a stream or key the writer has not seen, a refusal to
    /// confirm) read the log and decide again, until the batch is decided on what the log really holds.
    func write(
        on connection: PostgresConnection, memory: inout WriterMemory
    ) async throws
        -> [Result<AppendResult, any Error>]
    {
        var context = memory.assumedContext(for: self.requests)
        while true {
            let plan = self.plan(context ?? Context())
            // A refusal decided on assumptions is not final: confirm it on what the log holds.
            let refusesOnAssumption =
                context != nil && plan.outcomes.contains { if case .failure = $0 { true } else { false } }
            if context == nil || refusesOnAssumption {
                let read = try await self.readContext(on: connection)
                memory.learn(read)
                context = nil
                let plan = self.plan(read)
                if plan.rows.positions.isEmpty { return plan.outcomes }
                if try await self.commit(plan, on: connection) {
                    memory.remember(plan)
                    return plan.outcomes
                }
                continue
            }
            if try await self.commit(plan, on: connection) {
                memory.remember(plan)
                return plan.outcomes
            }
            context = nil
        }
    }

    func plan(_ context: Context) -> Plan {
        var versions = context.versions
        var known = context.known
        var plan = Plan(head: context.head)
        var head = context.head
        // Time never runs backwards in the log, even if the clock does: `audit as-of --time` relies on it.
        let clock = Timestamp.now()
        let now = max(clock, head.recordedAt)
        if clock < head.recordedAt {
            self.logger.warning(
                "the clock is behind the log's head: recording at the head's time",
                metadata: ["clock": "\(clock.rfc3339)", "head_recorded_at": "\(head.recordedAt.rfc3339)"])
        }
        for request in self.requests {
            if let key = request.idempotencyKey, let (digest, original) = known[key] {
                plan.outcomes.append(
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
                plan.outcomes.append(
                    .failure(
                        EventStoreError(
                            .wrongExpectedVersion,
                            "stream \(request.stream) is at version \(current), expected \(request.expectedVersion)",
                            stream: request.stream, currentVersion: current)))
                continue
            }
            if plan.versionsBefore[request.stream] == nil { plan.versionsBefore[request.stream] = current }
            let firstPosition = head.position + 1
            for (offset, data) in request.events.enumerated() {
                var metadata = data.metadata
                metadata.idempotencyKey = metadata.idempotencyKey ?? request.idempotencyKey
                var event = RecordedEvent(
                    position: firstPosition + Int64(offset), stream: request.stream,
                    streamVersion: current + 1 + Int64(offset), id: data.id, type: data.type,
                    schemaVersion: data.schemaVersion, payload: data.payload, metadata: metadata, recordedAt: now,
                    hash: [])
                let parts = EventChain.canonicalParts(of: event)
                event.hash = EventChain.hash(previous: head.hash, canonical: parts.record)
                head.hash = event.hash
                head.position = event.position
                plan.rows.append(event, canonical: parts.record, payload: parts.payload, metadata: parts.metadata)
            }
            let result = AppendResult(
                stream: request.stream, firstPosition: firstPosition, lastPosition: head.position,
                firstVersion: current + 1, lastVersion: current + Int64(request.events.count), recordedAt: now)
            versions[request.stream] = result.lastVersion
            if let key = request.idempotencyKey {
                var replay = result
                replay.replayed = true
                replay.recordedAt = nil
                known[key] = (request.digest, replay)
                plan.keys.keys.append(key)
                plan.keys.digests.append(ByteBuffer(bytes: request.digest))
                plan.keys.results.append(result)
            }
            plan.outcomes.append(.success(result))
        }
        head.recordedAt = now
        plan.headAfter = head
        plan.versionsAfter = versions
        return plan
    }

    /// The head, the batch's streams' versions and the batch's known idempotency keys, as rows of one union.
    private func readContext(on connection: PostgresConnection) async throws -> Context {
        let streams = Array(Set(self.requests.map(\.stream)))
        let keys = self.requests.compactMap(\.idempotencyKey)
        let rows = try await connection.query(
            """
            (SELECT 'head', NULL::text, NULL::text, position, (extract(epoch FROM recorded_at) * 1000000)::bigint,
                    NULL::bigint, NULL::bigint, hash, NULL::text
             FROM events ORDER BY position DESC LIMIT 1)
            UNION ALL
            SELECT 'stream', s.type, s.id,
                   (SELECT coalesce(max(e.stream_version), 0) FROM events e WHERE e.stream_type = s.type AND e.stream_id = s.id),
                   NULL, NULL, NULL, NULL, NULL
            FROM unnest(\(streams.map(\.type))::text[], \(streams.map(\.id))::text[]) AS s(type, id)
            UNION ALL
            SELECT 'key', stream_type, stream_id, first_position, last_position, first_version, last_version,
                   request_digest, idempotency_key
            FROM append_idempotency WHERE idempotency_key = ANY(\(keys)::text[])
            """, logger: self.logger)
        var context = Context()
        for try await (kind, type, id, n1, n2, n3, n4, bytes, key) in rows.decode(
            (String, String?, String?, Int64, Int64?, Int64?, Int64?, ByteBuffer?, String?).self)
        {
            switch kind {
            case "head":
                context.head = Head(
                    position: n1, hash: bytes.map { Array(buffer: $0) } ?? [],
                    recordedAt: Timestamp(microsecondsSinceEpoch: n2 ?? 0))
            case "stream":
                context.versions[StreamName(type: type ?? "", id: id ?? "")] = n1
            default:
                guard let key, let type, let id, let n2, let n3, let n4, let bytes else { continue }
                context.known[key] = (
                    Array(buffer: bytes),
                    AppendResult(
                        stream: StreamName(type: type, id: id), firstPosition: n1, lastPosition: n2, firstVersion: n3,
                        lastVersion: n4, replayed: true)
                )
            }
        }
        return context
    }

    /// Calls `append_batch`; false when the head moved since the context was read (nothing was written).
    private func commit(_ plan: Plan, on connection: PostgresConnection) async throws -> Bool {
        let rows = plan.rows
        let keys = plan.keys
        let checked = Array(plan.versionsBefore)
        let result = try await connection.execute(
            """
            SELECT append_batch(\(plan.head.position), \(checked.map(\.key.type))::text[],
                \(checked.map(\.key.id))::text[], \(checked.map(\.value))::bigint[],
                \(rows.positions)::bigint[], \(rows.streamTypes)::text[], \(rows.streamIDs)::text[],
                \(rows.versions)::bigint[], \(rows.eventIDs)::uuid[], \(rows.eventTypes)::text[],
                \(rows.schemaVersions)::integer[], \(rows.payloads)::text[]::jsonb[], \(rows.metadata)::text[]::jsonb[],
                \(rows.recordedAt)::text[]::timestamptz[], \(rows.canonical)::bytea[], \(rows.hashes)::bytea[],
                \(keys.keys)::text[], \(keys.digests)::bytea[], \(keys.results.map(\.stream.type))::text[],
                \(keys.results.map(\.stream.id))::text[], \(keys.results.map(\.firstPosition))::bigint[],
                \(keys.results.map(\.lastPosition))::bigint[], \(keys.results.map(\.firstVersion))::bigint[],
                \(keys.results.map(\.lastVersion))::bigint[])
            """, logger: self.logger)
        guard let committed = try result.rows.first?.decode(Bool.self) else {
            throw TransactionRolledBack(command: "no answer from append_batch")
        }
        return committed
    }
}

/// What the single writer of a process believes the log holds: the head after its last commit and the versions of
/// streams it has seen. Only an optimisation: `append_batch` checks every belief under the lock.
struct WriterMemory {
    var head: BatchWriter.Head?
    var versions: [StreamName: Int64] = [:]
    /// Bounds memory; forgetting only costs a read.
    let capacity = 100_000

    /// A context built from memory, or nil when a request needs something only a read can tell (an `.any` append
    /// to an unseen stream). Idempotency keys are assumed new; `append_batch` refuses the batch if one is not.
    func assumedContext(for requests: [AppendRequest]) -> BatchWriter.Context? {
        guard let head = self.head else { return nil }
        var context = BatchWriter.Context(head: head)
        for request in requests {
            if let known = self.versions[request.stream] {
                context.versions[request.stream] = known
                continue
            }
            switch request.expectedVersion {
            case .noStream: context.versions[request.stream] = 0
            case .exact(let version): context.versions[request.stream] = version
            case .any: return nil
            }
        }
        return context
    }

    mutating func learn(_ context: BatchWriter.Context) {
        self.head = context.head
        self.versions = context.versions
    }

    mutating func remember(_ plan: BatchWriter.Plan) {
        self.head = plan.headAfter
        if self.versions.count + plan.versionsAfter.count > self.capacity { self.versions.removeAll() }
        self.versions.merge(plan.versionsAfter) { _, new in new }
    }
}
