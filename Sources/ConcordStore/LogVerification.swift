import ConcordCore
import Foundation
import NIOCore
import PostgresNIO

/// The outcome of checking the stored log with `ChainVerifier`.
public struct VerificationReport: Sendable {
    public var eventsChecked: Int
    public var streams: Int
    /// The last position checked and its hash: what an auditor would anchor.
    public var lastPosition: Int64
    public var lastHash: [UInt8]
    /// The first problem found, if any; checking stops there.
    public var problem: ChainVerifier.Problem?

    public var isSound: Bool { self.problem == nil }
}

extension EventStore {
    /// Checks positions `from...to` (default: the whole log) in pages: chain, positions, versions, canonical bytes
    /// and their queryable copies. `progress` is told the last checked position after each page.
    ///
    /// With `checkStreams`, also checks that every payload decodes as its event type and schema version and that
    /// each stream is a legal sequence for its state machine (from the first position only: a stream must be seen
    /// from its start).
    public func verify(
        from first: Int64 = 1, to last: Int64? = nil, pageSize: Int = 5_000, checkStreams: Bool = false,
        progress: (@Sendable (Int64) -> Void)? = nil
    ) async throws -> VerificationReport {
        var previousHash = EventChain.genesisHash
        var previousRecordedAt: Timestamp? = nil
        if first > 1 {
            let rows = try await self.client.query(
                "SELECT hash, concord_microseconds(recorded_at) FROM events WHERE position = \(first - 1)",
                logger: self.logger)
            for try await (hash, recordedAt) in rows.decode((ByteBuffer, Int64).self) {
                previousHash = Array(buffer: hash)
                previousRecordedAt = Timestamp(microsecondsSinceEpoch: recordedAt)
            }
        }
        var verifier = ChainVerifier(
            after: first - 1, previousHash: previousHash, previousRecordedAt: previousRecordedAt)
        // Whether each stream is a legal sequence can only be judged from its first event.
        var audit: StreamAudit? = checkStreams && first == 1 ? StreamAudit() : nil
        let end = last ?? Int64.max
        // The next page is read while this one is checked, and each page is decoded and hashed on every core.
        var next: Task<[ChainVerifier.StoredEvent], any Error>? = self.verificationPage(
            from: first, through: end, limit: pageSize)
        defer { next?.cancel() }
        while let pending = next {
            let rows = try await pending.value
            guard let lastRow = rows.last else { break }
            next =
                rows.count == pageSize && lastRow.position < end
                ? self.verificationPage(from: lastRow.position + 1, through: end, limit: pageSize) : nil
            let prepared = await Self.prepare(rows, after: verifier.previousHash, decodingPayloads: audit != nil)
            do {
                for (row, work) in zip(rows, prepared) {
                    let event = try verifier.check(row, prepared: work.chain)
                    // A checkpoint vouching for a position too far back for the verifier's memory: the stored hash
                    // there has been checked by the chain already (or precedes the range, taken as given).
                    if let claim = verifier.unresolvedCheckpoint,
                        let problem = verifier.resolve(
                            claim, storedHash: try await self.hash(at: claim.vouchedPosition))
                    {
                        throw problem
                    }
                    if let problem = audit?.problem(with: event, decoded: work.payload) {
                        throw ChainVerifier.Problem(position: row.position, reason: problem)
                    }
                }
            } catch let problem as ChainVerifier.Problem {
                return self.report(verifier, problem: problem)
            }
            progress?(verifier.nextPosition - 1)
        }
        return self.report(verifier, problem: nil)
    }

    /// One event's order-independent work (see `prepare`).
    private struct PreparedEvent: Sendable {
        var chain: ChainVerifier.Prepared
        var payload: StreamAudit.Decoded?
    }

    /// Decodes and hashes a page on every core: each event's work needs only the stored hash of the one before it.
    /// The links, positions, versions and stream sequences are then checked in order, on the results.
    private static func prepare(
        _ rows: [ChainVerifier.StoredEvent], after previousHash: [UInt8], decodingPayloads: Bool
    ) async -> [PreparedEvent] {
        let parts = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
        let size = max(1, (rows.count + parts - 1) / parts)
        return await withTaskGroup(of: (Int, [PreparedEvent]).self) { group in
            for start in stride(from: 0, to: rows.count, by: size) {
                group.addTask {
                    var done: [PreparedEvent] = []
                    done.reserveCapacity(size)
                    for index in start..<min(start + size, rows.count) {
                        let chain = ChainVerifier.prepare(
                            rows[index], previousHash: index == 0 ? previousHash : rows[index - 1].hash)
                        let payload = decodingPayloads ? (try? chain.event.get()).map(StreamAudit.decode) : nil
                        done.append(PreparedEvent(chain: chain, payload: payload))
                    }
                    return (start, done)
                }
            }
            var parts: [(start: Int, events: [PreparedEvent])] = []
            for await part in group { parts.append(part) }
            var all: [PreparedEvent] = []
            all.reserveCapacity(rows.count)
            for part in parts.sorted(by: { $0.start < $1.start }) { all.append(contentsOf: part.events) }
            return all
        }
    }

    /// One page of rows to verify, read in a task of its own, with the jsonb copies as text: they are parsed and
    /// compared with the canonical bytes in `prepare`, on every core. (Comparing them in PostgreSQL, with
    /// `concord_copies_agree`, held verification to one backend's core: about 26,000 events/s.)
    private func verificationPage(
        from start: Int64, through end: Int64, limit: Int
    ) -> Task<[ChainVerifier.StoredEvent], any Error> {
        Task {
            let rows = try await self.client.query(
                """
                SELECT position, stream_type, stream_id, stream_version, event_id, event_type, schema_version,
                       canonical, hash, payload::text, metadata::text, concord_microseconds(recorded_at)
                FROM events e WHERE position >= \(start) AND position <= \(end)
                ORDER BY position LIMIT \(limit)
                """, logger: self.logger)
            var page: [ChainVerifier.StoredEvent] = []
            page.reserveCapacity(limit)
            for try await (
                position, type, id, version, eventID, eventType, schemaVersion, canonical, hash, payload, metadata,
                recordedAt
            )
                in rows.decode(
                    (
                        Int64, String, String, Int64, UUID, String, Int32, ByteBuffer, ByteBuffer, String, String,
                        Int64
                    ).self)
            {
                page.append(
                    ChainVerifier.StoredEvent(
                        position: position, stream: StreamName(type: type, id: id), streamVersion: version,
                        eventID: eventID, eventType: eventType, schemaVersion: schemaVersion,
                        canonical: Array(buffer: canonical), hash: Array(buffer: hash),
                        copies: ChainVerifier.Copies(
                            payload: Array(payload.utf8), metadata: Array(metadata.utf8),
                            recordedAt: Timestamp(microsecondsSinceEpoch: recordedAt))))
            }
            return page
        }
    }

    private func report(_ verifier: ChainVerifier, problem: ChainVerifier.Problem?) -> VerificationReport {
        VerificationReport(
            eventsChecked: verifier.eventsChecked, streams: verifier.streamCount,
            lastPosition: verifier.nextPosition - 1,
            lastHash: verifier.previousHash, problem: problem)
    }
}
