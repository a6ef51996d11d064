import ConcordCore
import Foundation
import NIOCore
import PostgresNIO
import Synchronization

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
    ///
    /// The stages overlap: a page is read while the one before is decoded and hashed on every core, and checked
    /// in order as soon as it is.
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
        var checker = PageChecker(
            verifier: ChainVerifier(
                after: first - 1, previousHash: previousHash, previousRecordedAt: previousRecordedAt),
            audit: checkStreams && first == 1 ? StreamAudit() : nil)
        let end = last ?? Int64.max
        var preparing: Task<PreparedPage, any Error>? = self.preparePage(
            reading: self.verificationPage(from: first, through: end, limit: pageSize), after: previousHash,
            through: end, limit: pageSize, decodingPayloads: checker.audit != nil)
        defer { preparing?.cancel() }
        while let pending = preparing {
            let page = try await pending.value
            // The next page is read and prepared while this one is checked.
            preparing = page.next.map {
                self.preparePage(
                    reading: $0, after: page.lastHash, through: end, limit: pageSize,
                    decodingPayloads: checker.audit != nil)
            }
            try await checker.check(page.events, store: self)
            if let problem = checker.problem { return self.report(checker.verifier, problem: problem) }
            if page.lastHash != nil { progress?(checker.verifier.nextPosition - 1) }
        }
        return self.report(checker.verifier, problem: nil)
    }

    /// A page decoded and hashed, and the read of the page after it, under way.
    fileprivate struct PreparedPage: Sendable {
        var events: [[PreparedEvent]]
        /// The stored hash of the page's last event; nil for an empty page.
        var lastHash: [UInt8]?
        var next: Task<[PostgresRow], any Error>?
    }

    /// Waits for a page's rows, starts reading the next page, and prepares this one. Cancelled (verification
    /// stopped at a problem, or failed), it cancels both reads: no query and no work outlives `verify`.
    private func preparePage(
        reading: Task<[PostgresRow], any Error>, after previousHash: [UInt8]?, through end: Int64, limit: Int,
        decodingPayloads: Bool
    ) -> Task<PreparedPage, any Error> {
        let nextRead = NextRead()
        return Task {
            try await withTaskCancellationHandler {
                let rows = try await reading.value
                guard let lastRow = rows.last, let previousHash else {
                    return PreparedPage(events: [], lastHash: nil, next: nil)
                }
                let lastPosition = try lastRow.makeRandomAccess()[0].decode(Int64.self)
                let next =
                    rows.count == limit && lastPosition < end
                    ? self.verificationPage(from: lastPosition + 1, through: end, limit: limit) : nil
                nextRead.started(next)
                do {
                    let events = try await Self.prepare(rows, after: previousHash, decodingPayloads: decodingPayloads)
                    return PreparedPage(events: events, lastHash: events.last?.last?.chain.storedHash, next: next)
                } catch {
                    next?.cancel()
                    throw error
                }
            } onCancel: {
                reading.cancel()
                nextRead.cancel()
            }
        }
    }

    /// The next page's read, once started, for a cancellation that may come before or after.
    private final class NextRead: Sendable {
        private let state = Mutex<(task: Task<[PostgresRow], any Error>?, cancelled: Bool)>((nil, false))

        func started(_ task: Task<[PostgresRow], any Error>?) {
            let cancelled = self.state.withLock { state in
                state.task = task
                return state.cancelled
            }
            if cancelled { task?.cancel() }
        }

        func cancel() {
            self.state.withLock { state in
                state.cancelled = true
                return state.task
            }?.cancel()
        }
    }

    /// One event's order-independent work (see `prepare`).
    fileprivate struct PreparedEvent: Sendable {
        var position: Int64
        var chain: ChainVerifier.Prepared
        var payload: StreamAudit.Decoded?
    }

    /// The checks made in log order, page after page: links, positions, versions, time, stream sequences.
    fileprivate struct PageChecker: Sendable {
        var verifier: ChainVerifier
        var audit: StreamAudit?
        /// The first problem found; checking stops there.
        var problem: ChainVerifier.Problem?

        /// Checks a page, handed over in the parts it was prepared in.
        mutating func check(_ page: [[PreparedEvent]], store: EventStore) async throws {
            do {
                for part in page {
                    var next = 0
                    while next < part.count {
                        let (after, claimed) = try part.withUnsafeBufferPointer {
                            events throws(ChainVerifier.Problem) in
                            try self.check(events, from: next)
                        }
                        next = after
                        // A checkpoint vouching for a position too far back for the verifier's memory: the stored
                        // hash there has been checked by the chain already (or precedes the range, taken as given).
                        // Its own audit follows, as it always has.
                        if let claim = self.verifier.unresolvedCheckpoint,
                            let problem = self.verifier.resolve(
                                claim, storedHash: try await store.hash(at: claim.vouchedPosition))
                        {
                            throw problem
                        }
                        if let claimed { try self.auditStream(claimed, part[after - 1]) }
                    }
                }
            } catch let problem as ChainVerifier.Problem {
                self.problem = problem
            }
        }

        /// Checks events from `start` on, up to the end or to a checkpoint claim that needs the database; returns
        /// where to go on and, at a claim, the claiming event's stream, not yet audited. (Through a buffer pointer,
        /// so that no event is copied out of the page.)
        private mutating func check(
            _ events: UnsafeBufferPointer<PreparedEvent>, from start: Int
        ) throws(ChainVerifier.Problem) -> (next: Int, claimed: StreamKey?) {
            for index in start..<events.count {
                let stream = try self.verifier.check(events[index].chain)
                if self.verifier.unresolvedCheckpoint != nil { return (index + 1, stream) }
                try self.auditStream(stream, events[index])
            }
            return (events.count, nil)
        }

        private mutating func auditStream(_ stream: StreamKey, _ event: PreparedEvent) throws(ChainVerifier.Problem) {
            if let decoded = event.payload, let problem = self.audit?.problem(in: stream, decoded: decoded) {
                throw ChainVerifier.Problem(position: event.position, reason: problem)
            }
        }
    }

    /// Decodes the rows and hashes each event on every core: each event's work needs only its own columns and the
    /// stored hash of the one before it.
    private static func prepare(
        _ rows: [PostgresRow], after previousHash: [UInt8], decodingPayloads: Bool
    ) async throws -> [[PreparedEvent]] {
        // Four parts per core: a part left to one core while another serves PostgreSQL or the in-order checks is
        // then a short wait, not half the page.
        let parts = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8)) * 4
        let size = max(1, (rows.count + parts - 1) / parts)
        return try await withThrowingTaskGroup(of: (Int, [PreparedEvent]).self) { group in
            for start in stride(from: 0, to: rows.count, by: size) {
                group.addTask {
                    var done: [PreparedEvent] = []
                    done.reserveCapacity(size)
                    var hashBefore =
                        start == 0
                        ? previousHash
                        : Array(buffer: try rows[start - 1].makeRandomAccess()[8].decode(ByteBuffer.self))
                    for index in start..<min(start + size, rows.count) {
                        if index % 512 == 0 { try Task.checkCancellation() }
                        let stored = try Self.storedEvent(rows[index])
                        // The event itself is freed here, on the core that made it: the checks in order need only
                        // the preparation's small link and the decoded payload.
                        let (chain, event) = ChainVerifier.prepareDecoding(stored, previousHash: hashBefore)
                        let payload = decodingPayloads ? event.map(StreamAudit.decode) : nil
                        done.append(PreparedEvent(position: stored.position, chain: chain, payload: payload))
                        hashBefore = stored.hash
                    }
                    return (start, done)
                }
            }
            // Handed on as parts, in order: merging them into one array would copy every event.
            var parts: [(start: Int, events: [PreparedEvent])] = []
            for try await part in group { parts.append(part) }
            return parts.sorted(by: { $0.start < $1.start }).map(\.events)
        }
    }

    /// One page of rows to verify, read in a task of its own, with the jsonb copies as text: they are parsed and
    /// compared with the canonical bytes in `prepare`, on every core. (Comparing them in PostgreSQL, with
    /// `concord_copies_agree`, held verification to one backend's core: about 26,000 events/s.)
    private func verificationPage(
        from start: Int64, through end: Int64, limit: Int
    ) -> Task<[PostgresRow], any Error> {
        Task {
            try await self.client.query(
                """
                SELECT position, stream_type, stream_id, stream_version, event_id, event_type, schema_version,
                       canonical, hash, payload::text, metadata::text, recorded_at
                FROM events e WHERE position >= \(start) AND position <= \(end)
                ORDER BY position LIMIT \(limit)
                """, logger: self.logger
            ).collect()
        }
    }

    /// A row of `verificationPage` (the hash is column 8), read cell by cell in its binary form.
    private static func storedEvent(_ row: PostgresRow) throws -> ChainVerifier.StoredEvent {
        var cells = Cells(row.makeIterator())
        let position = try cells.integer(.int8, as: Int64.self)
        let streamType = try cells.text()
        let streamID = try cells.text()
        let streamVersion = try cells.integer(.int8, as: Int64.self)
        let eventID = try cells.uuid()
        let eventType = try cells.text()
        let schemaVersion = try cells.integer(.int4, as: Int32.self)
        let canonical = try cells.bytes()
        let hash = try cells.bytes()
        let payload = try cells.bytes()
        let metadata = try cells.bytes()
        let recordedAt = try cells.timestamp()
        return ChainVerifier.StoredEvent(
            position: position, stream: StreamName(type: streamType, id: streamID), streamVersion: streamVersion,
            eventID: eventID, eventType: eventType, schemaVersion: schemaVersion, canonical: canonical, hash: hash,
            copies: ChainVerifier.Copies(payload: payload, metadata: metadata, recordedAt: recordedAt))
    }

    /// A row's cells in order, each read as PostgreSQL sends its type in binary. (PostgresNIO's generic decoding
    /// of a twelve-column tuple was a sixth of verification's work per event.)
    private struct Cells {
        var iterator: PostgresRow.Iterator

        init(_ iterator: PostgresRow.Iterator) { self.iterator = iterator }

        private mutating func next(_ types: PostgresDataType...) throws -> ByteBuffer {
            guard let cell = self.iterator.next() else { throw PostgresDecodingError.Code.missingData }
            guard let bytes = cell.bytes else { throw PostgresDecodingError.Code.missingData }
            guard cell.format == .binary, types.contains(cell.dataType) else {
                throw PostgresDecodingError.Code.typeMismatch
            }
            return bytes
        }

        mutating func integer<Value: FixedWidthInteger>(_ type: PostgresDataType, as: Value.Type) throws -> Value {
            var bytes = try self.next(type)
            guard bytes.readableBytes == MemoryLayout<Value>.size, let value = bytes.readInteger(as: Value.self)
            else { throw PostgresDecodingError.Code.failure }
            return value
        }

        mutating func text() throws -> String { String(buffer: try self.next(.text, .varchar, .name)) }

        mutating func bytes() throws -> [UInt8] { Array(buffer: try self.next(.bytea, .text)) }

        mutating func uuid() throws -> UUID {
            let bytes = try self.next(.uuid)
            guard bytes.readableBytes == 16 else { throw PostgresDecodingError.Code.failure }
            return UUID(uuid: bytes.withUnsafeReadableBytes { $0.loadUnaligned(as: uuid_t.self) })
        }

        mutating func timestamp() throws -> Timestamp {
            var bytes = try self.next(.timestamptz)
            return try StoredTimestamp(
                from: &bytes, type: .timestamptz, format: .binary, context: .default
            ).timestamp
        }
    }

    private func report(_ verifier: ChainVerifier, problem: ChainVerifier.Problem?) -> VerificationReport {
        VerificationReport(
            eventsChecked: verifier.eventsChecked, streams: verifier.streamCount,
            lastPosition: verifier.nextPosition - 1,
            lastHash: verifier.previousHash, problem: problem)
    }
}

/// A `timestamptz` column as PostgreSQL sends it in binary, microseconds since 2000-01-01 UTC, kept exact (`Date`
/// would round it through a `Double`). Reading it so, instead of asking the server for `concord_microseconds`,
/// halves the server's work per row of verification.
struct StoredTimestamp: PostgresDecodable {
    var timestamp: Timestamp

    /// 2000-01-01T00:00:00Z in microseconds since 1970.
    private static let postgresEpoch: Int64 = 946_684_800_000_000

    init<JSONDecoder: PostgresJSONDecoder>(
        from buffer: inout ByteBuffer, type: PostgresDataType, format: PostgresFormat,
        context: PostgresDecodingContext<JSONDecoder>
    ) throws {
        guard type == .timestamptz, format == .binary, let micros = buffer.readInteger(as: Int64.self) else {
            throw PostgresDecodingError.Code.typeMismatch
        }
        // ±infinity (Int64.max and .min) is no instant: refused rather than wrapped.
        let (sinceEpoch, overflow) = micros.addingReportingOverflow(Self.postgresEpoch)
        guard !overflow, micros != .min else { throw PostgresDecodingError.Code.failure }
        self.timestamp = Timestamp(microsecondsSinceEpoch: sinceEpoch)
    }
}
