import ConcordCore
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
        if first > 1 {
            let rows = try await self.client.query(
                "SELECT hash FROM events WHERE position = \(first - 1)", logger: self.logger)
            for try await hash in rows.decode(ByteBuffer.self) { previousHash = Array(buffer: hash) }
        }
        var verifier = ChainVerifier(after: first - 1, previousHash: previousHash)
        // Whether each stream is a legal sequence can only be judged from its first event.
        var audit: StreamAudit? = checkStreams && first == 1 ? StreamAudit() : nil
        let end = last ?? Int64.max
        // The next page is read while this one is checked: the database and the checks use different cores.
        var next: Task<[ChainVerifier.StoredEvent], any Error>? = self.verificationPage(
            from: first, through: end, limit: pageSize)
        defer { next?.cancel() }
        var start = first
        while let pending = next {
            let rows: [ChainVerifier.StoredEvent]
            do {
                rows = try await pending.value
            } catch let error as PSQLError where error.serverInfo?[.sqlState]?.hasPrefix("22") == true {
                // Canonical bytes that are not JSON at all stop the fast comparison: read this page again with the
                // comparison that turns such bytes into a named fault.
                rows = try await self.verificationPage(from: start, through: end, limit: pageSize, safely: true).value
            }
            guard let lastRow = rows.last else { break }
            start = lastRow.position + 1
            next =
                rows.count == pageSize && lastRow.position < end
                ? self.verificationPage(from: lastRow.position + 1, through: end, limit: pageSize) : nil
            do {
                for row in rows {
                    let event = try verifier.check(row)
                    if let problem = audit?.problem(with: event) {
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

    /// One page of rows to verify, read in a task of its own. The copies are compared by PostgreSQL: with
    /// `concord_copies_agree` (inlined, but an error if a canonical form is not JSON), or `safely` with
    /// `concord_copies_match`, which answers false for such bytes (slower; only for a page that needs it).
    private func verificationPage(
        from start: Int64, through end: Int64, limit: Int, safely: Bool = false
    ) -> Task<[ChainVerifier.StoredEvent], any Error> {
        let comparison = safely ? "concord_copies_match" : "concord_copies_agree"
        return Task {
            let rows = try await self.client.query(
                """
                SELECT position, stream_type, stream_id, stream_version, event_type, canonical, hash,
                       \(unescaped: comparison)(canonical, payload, metadata, recorded_at)
                FROM events e WHERE position >= \(start) AND position <= \(end)
                ORDER BY position LIMIT \(limit)
                """, logger: self.logger)
            var page: [ChainVerifier.StoredEvent] = []
            page.reserveCapacity(limit)
            for try await (position, type, id, version, eventType, canonical, hash, copiesMatch) in rows.decode(
                (Int64, String, String, Int64, String, ByteBuffer, ByteBuffer, Bool).self)
            {
                var row = ChainVerifier.StoredEvent(
                    position: position, stream: StreamName(type: type, id: id), streamVersion: version,
                    eventType: eventType, canonical: Array(buffer: canonical), hash: Array(buffer: hash), copies: nil)
                row.copiesAgree = copiesMatch
                page.append(row)
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
