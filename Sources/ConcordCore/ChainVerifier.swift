import Foundation

/// Checks the log event by event, in position order: positions without holes or repeats, canonical bytes that
/// decode and agree with every stored column, the hash chain, `recorded_at` never going back, per-stream versions
/// 1, 2, 3, ..., and that each checkpoint event in the log names the hash the chain has at its position.
///
/// Pure: the store feeds it rows, an audit tool could feed it an export.
public struct ChainVerifier: Sendable {
    /// What the store holds for one event, besides its canonical bytes.
    public struct StoredEvent: Sendable {
        public var position: Int64
        public var stream: StreamName
        public var streamVersion: Int64
        public var eventID: UUID
        public var eventType: String
        public var schemaVersion: Int32
        public var canonical: [UInt8]
        public var hash: [UInt8]
        /// The queryable copies kept beside the canonical bytes (jsonb payload and metadata as text, recorded_at),
        /// which must say the same; nil to skip that check.
        public var copies: Copies?
        /// Whether the copies agree, when the database has compared them itself; nil when not compared.
        public var copiesAgree: Bool?

        public init(
            position: Int64, stream: StreamName, streamVersion: Int64, eventID: UUID, eventType: String,
            schemaVersion: Int32, canonical: [UInt8], hash: [UInt8], copies: Copies?
        ) {
            self.position = position
            self.stream = stream
            self.streamVersion = streamVersion
            self.eventID = eventID
            self.eventType = eventType
            self.schemaVersion = schemaVersion
            self.canonical = canonical
            self.hash = hash
            self.copies = copies
        }
    }

    public struct Copies: Sendable {
        public var payload: [UInt8]
        public var metadata: [UInt8]
        public var recordedAt: Timestamp

        public init(payload: [UInt8], metadata: [UInt8], recordedAt: Timestamp) {
            self.payload = payload
            self.metadata = metadata
            self.recordedAt = recordedAt
        }

        func match(_ event: RecordedEvent) -> Bool {
            // Fast path: print what PostgreSQL prints for the decoded values and compare bytes; anything else (a
            // difference, or a value PostgreSQL prints another way) is settled by parsing the copies.
            if self.recordedAt == event.recordedAt, JSONBText.of(event.payload) == self.payload,
                JSONBText.of(event.metadata.jsonValue) == self.metadata
            {
                return true
            }
            guard let payload = try? JSONParser.parse(self.payload),
                let metadata = try? JSONParser.parse(self.metadata)
            else { return false }
            return payload == event.payload && metadata == event.metadata.jsonValue
                && self.recordedAt == event.recordedAt
        }
    }

    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        public var position: Int64
        public var reason: String

        public init(position: Int64, reason: String) {
            self.position = position
            self.reason = reason
        }

        public var description: String { "position \(self.position): \(self.reason)" }
    }

    public private(set) var previousHash: [UInt8]
    public private(set) var nextPosition: Int64
    public private(set) var eventsChecked = 0
    /// When the event before `nextPosition` was recorded: the next one may not be earlier.
    public private(set) var previousRecordedAt: Timestamp?
    private var streamVersions: [StreamName: Int64] = [:]
    /// Versions are checked from the start only when verification starts at the first event.
    private let startsAtGenesis: Bool
    /// The hashes of the last `recentCapacity` positions, so that a checkpoint event is compared with the chain
    /// without a read (one is signed for the head, and appended right after it).
    private var recentHashes: [[UInt8]]
    private static let recentCapacity = 4_096
    /// A checkpoint event vouching for a position older than `recentHashes` holds: the caller compares it with the
    /// stored hash (`problem(with:storedHash:)`) before going on.
    public private(set) var unresolvedCheckpoint: CheckpointClaim?

    /// What a `CheckpointSigned` event in the log says: the event at `vouchedPosition` has hash `hash`.
    public struct CheckpointClaim: Sendable, Equatable {
        public var position: Int64
        public var vouchedPosition: Int64
        public var hash: [UInt8]
    }

    /// Starts after `position` (0 for the whole log), whose hash is `previousHash` and whose event was recorded at
    /// `previousRecordedAt` (nil before the first event).
    public init(
        after position: Int64 = 0, previousHash: [UInt8] = EventChain.genesisHash, previousRecordedAt: Timestamp? = nil
    ) {
        self.nextPosition = position + 1
        self.previousHash = previousHash
        self.previousRecordedAt = previousRecordedAt
        self.startsAtGenesis = position == 0
        self.recentHashes = Array(repeating: [], count: Self.recentCapacity)
    }

    /// The fault, if any, of an unresolved checkpoint claim, given the hash stored at the position it vouches for;
    /// clears the claim.
    public mutating func resolve(_ claim: CheckpointClaim, storedHash: [UInt8]?) -> Problem? {
        self.unresolvedCheckpoint = nil
        return Self.problem(of: claim, chainHash: storedHash)
    }

    private static func problem(of claim: CheckpointClaim, chainHash: [UInt8]?) -> Problem? {
        guard let chainHash else {
            return Problem(
                position: claim.position,
                reason: "the checkpoint vouches for position \(claim.vouchedPosition), which the log does not hold")
        }
        guard chainHash == claim.hash else {
            return Problem(
                position: claim.position,
                reason:
                    "the checkpoint says position \(claim.vouchedPosition) has hash \(claim.hash.hexString), but the "
                    + "chain has \(chainHash.hexString): a forged checkpoint, or history rewritten under it")
        }
        return nil
    }

    public var streamCount: Int { self.streamVersions.count }

    /// The work on one event that does not depend on the events before it: decoding its canonical bytes and
    /// hashing them after `previousHash`, the stored hash of the event before it (links are compared in order by
    /// `check`). Pure and independent per event, so a page can be prepared on several cores.
    public struct Prepared: Sendable {
        public var event: Result<RecordedEvent, EventDecodingError>
        /// Which stored event this is for, and the hash of the previous event it was computed with.
        var position: Int64
        var storedHash: [UInt8]
        var previousHash: [UInt8]
        var hashFollows: Bool
        var copiesAgree: Bool
    }

    public static func prepare(_ stored: StoredEvent, previousHash: [UInt8]) -> Prepared {
        let event = Result { () throws(EventDecodingError) in
            try EventChain.decode(canonical: stored.canonical, hash: stored.hash)
        }
        let follows = EventChain.hash(previous: previousHash, canonical: stored.canonical) == stored.hash
        let copiesAgree = (try? event.get()).map { stored.copies?.match($0) ?? true } ?? true
        return Prepared(
            event: event, position: stored.position, storedHash: stored.hash, previousHash: previousHash,
            hashFollows: follows,
            copiesAgree: copiesAgree && (stored.copiesAgree ?? true))
    }

    /// Checks the next event; returns it decoded. `prepared`, when given, is this event's `prepare` result.
    @discardableResult
    public mutating func check(_ stored: StoredEvent, prepared: Prepared? = nil) throws(Problem) -> RecordedEvent {
        func fail(_ reason: String) -> Problem { Problem(position: self.nextPosition, reason: reason) }
        guard stored.position == self.nextPosition else {
            throw stored.position > self.nextPosition
                ? fail("missing: the next stored position is \(stored.position)")
                : fail("position \(stored.position) repeated or out of order")
        }
        // A preparation of another event, or made with another previous hash than this verifier holds, does not
        // count: the work is done again here.
        let work =
            prepared.flatMap {
                $0.position == stored.position && $0.storedHash == stored.hash && $0.previousHash == self.previousHash
                    ? $0 : nil
            }
            ?? Self.prepare(stored, previousHash: self.previousHash)
        let event: RecordedEvent
        switch work.event {
        case .success(let decoded): event = decoded
        case .failure(let error): throw fail(error.description)
        }
        guard work.hashFollows else {
            throw fail("hash does not match the previous hash and the canonical bytes")
        }
        // Every column, compared exactly (bytes, not Swift's canonical equivalence of strings).
        let column: String? =
            !event.stream.type.isExactly(stored.stream.type)
            ? "stream_type"
            : !event.stream.id.isExactly(stored.stream.id)
                ? "stream_id"
                : event.streamVersion != stored.streamVersion
                    ? "stream_version"
                    : event.id != stored.eventID
                        ? "event_id"
                        : !event.type.isExactly(stored.eventType)
                            ? "event_type"
                            : event.schemaVersion != stored.schemaVersion ? "schema_version" : nil
        if let column { throw fail("the \(column) column disagrees with the canonical bytes") }
        guard event.position == stored.position else { throw fail("the canonical bytes name another position") }
        guard work.copiesAgree else {
            throw fail("payload, metadata or recorded_at copy disagrees with the canonical bytes")
        }
        if let previous = self.previousRecordedAt, event.recordedAt < previous {
            throw fail(
                "recorded_at \(event.recordedAt.rfc3339) is earlier than \(previous.rfc3339), the event before it: "
                    + "the log's time never goes back")
        }
        if stored.stream.type == Checkpoint.streamType && event.type == Checkpoint.eventType {
            guard let checkpoint = Checkpoint(json: event.payload) else {
                throw fail("the checkpoint event's payload is not a checkpoint")
            }
            guard checkpoint.position < event.position else {
                throw fail("the checkpoint vouches for position \(checkpoint.position), not before it")
            }
            let claim = CheckpointClaim(
                position: event.position, vouchedPosition: checkpoint.position, hash: checkpoint.hash)
            let distance = event.position - checkpoint.position
            if distance <= Int64(self.eventsChecked) && distance <= Int64(Self.recentCapacity) {
                let slot = Int(checkpoint.position % Int64(Self.recentCapacity))
                if let problem = Self.problem(of: claim, chainHash: self.recentHashes[slot]) { throw problem }
            } else {
                self.unresolvedCheckpoint = claim
            }
        }
        let last = self.streamVersions[event.stream]
        if let last {
            guard event.streamVersion == last + 1 else {
                throw fail("stream \(event.stream) jumps from version \(last) to \(event.streamVersion)")
            }
        } else if self.startsAtGenesis && event.streamVersion != 1 {
            throw fail("stream \(event.stream) starts at version \(event.streamVersion)")
        }
        self.streamVersions[event.stream] = event.streamVersion
        self.recentHashes[Int(stored.position % Int64(Self.recentCapacity))] = stored.hash
        self.previousRecordedAt = event.recordedAt
        self.previousHash = stored.hash
        self.nextPosition += 1
        self.eventsChecked += 1
        return event
    }
}

/// The text PostgreSQL's `jsonb` output gives for a value: members ordered by key length, then bytes; `": "` and
/// `", "` between; strings escaped as `escape_json` does. Used only as a fast equality check.
public enum JSONBText {
    public static func of(_ value: JSONValue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        Self.write(value, into: &out)
        return out
    }

    static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            let sorted = members.sorted { left, right in
                let (a, b) = (left.key.utf8.count, right.key.utf8.count)
                return a != b ? a < b : left.key.utf8.lexicographicallyPrecedes(right.key.utf8)
            }
            for (index, member) in sorted.enumerated() {
                if index > 0 { out.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
                CanonicalJSON.writeString(member.key, into: &out)
                out.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
                Self.write(member.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
                Self.write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        default:
            // Scalars print as in the canonical form (PostgreSQL escapes strings the same way).
            CanonicalJSON.write(value, into: &out)
        }
    }
}
