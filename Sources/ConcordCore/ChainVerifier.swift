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
            // Fast path: compare with what PostgreSQL prints for the decoded values, byte by byte; anything else (a
            // difference, or a value PostgreSQL prints another way) is settled by parsing the copies.
            if self.recordedAt == event.recordedAt, JSONBText.matches(event.payload, self.payload),
                event.metadata.matchesJSONBText(self.metadata)
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
    private var streamVersions: [StreamKey: Int64] = [:]
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

    /// The work on one event that does not depend on the events before it: decoding its canonical bytes, hashing
    /// them after `previousHash` (the stored hash of the event before it), comparing every stored column with them,
    /// and reading a checkpoint's claim. Pure and independent per event, so a page can be prepared on several cores;
    /// `check(_:)` then makes the checks that need the events before it, in order, from the small `Link` alone.
    public struct Prepared: Sendable {
        /// Which stored event this is for, and the hash of the previous event it was computed with.
        var position: Int64
        public internal(set) var storedHash: [UInt8]
        var previousHash: [UInt8]
        /// What is wrong with the event on its own, if anything.
        var problem: String?
        /// What the in-order checks need; nil when the bytes did not decode (`problem` says why).
        var link: Link?
    }

    /// What the in-order checks need of a decoded event.
    struct Link: Sendable {
        var stream: StreamKey
        var streamVersion: Int64
        var recordedAt: Timestamp
        /// For a checkpoint event, what it claims, or what is wrong with it.
        var checkpoint: Result<CheckpointClaim, Problem>?
    }

    public static func prepare(_ stored: StoredEvent, previousHash: [UInt8]) -> Prepared {
        Self.prepareDecoding(stored, previousHash: previousHash).prepared
    }

    /// `prepare`, and the decoded event (nil when the bytes do not decode) for the caller's own work on it: `check`
    /// does not need it, so it can be freed on the core that made it.
    public static func prepareDecoding(
        _ stored: StoredEvent, previousHash: [UInt8]
    ) -> (prepared: Prepared, event: RecordedEvent?) {
        let decoded = Result { () throws(EventDecodingError) in
            try EventChain.decode(canonical: stored.canonical, hash: stored.hash)
        }
        let event = try? decoded.get()
        let prepared = Prepared(
            position: stored.position, storedHash: stored.hash, previousHash: previousHash,
            problem: Self.problem(of: stored, decoded: decoded, previousHash: previousHash),
            link: event.map {
                Link(
                    stream: StreamKey($0.stream), streamVersion: $0.streamVersion, recordedAt: $0.recordedAt,
                    checkpoint: Self.claim(of: $0))
            })
        return (prepared, event)
    }

    /// A checkpoint event's claim, or why it is not one; nil for any other event.
    private static func claim(of event: RecordedEvent) -> Result<CheckpointClaim, Problem>? {
        guard event.stream.type == Checkpoint.streamType && event.type == Checkpoint.eventType else { return nil }
        func fail(_ reason: String) -> Result<CheckpointClaim, Problem> {
            .failure(Problem(position: event.position, reason: reason))
        }
        guard let checkpoint = Checkpoint(json: event.payload) else {
            return fail("the checkpoint event's payload is not a checkpoint")
        }
        guard checkpoint.position < event.position else {
            return fail("the checkpoint vouches for position \(checkpoint.position), not before it")
        }
        return .success(
            CheckpointClaim(position: event.position, vouchedPosition: checkpoint.position, hash: checkpoint.hash))
    }

    /// The first fault of the event on its own: in the order `check` has always reported them.
    private static func problem(
        of stored: StoredEvent, decoded: Result<RecordedEvent, EventDecodingError>, previousHash: [UInt8]
    ) -> String? {
        let event: RecordedEvent
        switch decoded {
        case .success(let value): event = value
        case .failure(let error): return error.description
        }
        guard EventChain.hash(previous: previousHash, canonical: stored.canonical) == stored.hash else {
            return "hash does not match the previous hash and the canonical bytes"
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
        if let column { return "the \(column) column disagrees with the canonical bytes" }
        guard event.position == stored.position else { return "the canonical bytes name another position" }
        guard stored.copies?.match(event) ?? true, stored.copiesAgree ?? true else {
            return "payload, metadata or recorded_at copy disagrees with the canonical bytes"
        }
        return nil
    }

    /// Checks the next event; returns its stream.
    @discardableResult
    public mutating func check(_ stored: StoredEvent, prepared: Prepared? = nil) throws(Problem) -> StreamKey {
        // A preparation of another event, or made with another previous hash than this verifier holds, does not
        // count: the work is done again here.
        if let prepared, prepared.position == stored.position, prepared.storedHash == stored.hash,
            prepared.previousHash == self.previousHash
        {
            return try self.check(prepared)
        }
        return try self.check(Self.prepare(stored, previousHash: self.previousHash))
    }

    /// Checks the next event from its preparation alone; returns its stream.
    @discardableResult
    public mutating func check(_ work: Prepared) throws(Problem) -> StreamKey {
        func fail(_ reason: String) -> Problem { Problem(position: self.nextPosition, reason: reason) }
        guard work.position == self.nextPosition else {
            throw work.position > self.nextPosition
                ? fail("missing: the next stored position is \(work.position)")
                : fail("position \(work.position) repeated or out of order")
        }
        guard work.previousHash == self.previousHash else {
            throw fail("prepared after another previous hash than the chain's: the link was not checked")
        }
        if let problem = work.problem { throw fail(problem) }
        guard let link = work.link else { throw fail("undecodable event") }
        if let previous = self.previousRecordedAt, link.recordedAt < previous {
            throw fail(
                "recorded_at \(link.recordedAt.rfc3339) is earlier than \(previous.rfc3339), the event before it: "
                    + "the log's time never goes back")
        }
        if let checkpoint = link.checkpoint {
            let claim = try checkpoint.get()
            let distance = claim.position - claim.vouchedPosition
            if distance <= Int64(self.eventsChecked) && distance <= Int64(Self.recentCapacity) {
                let slot = Int(claim.vouchedPosition % Int64(Self.recentCapacity))
                if let problem = Self.problem(of: claim, chainHash: self.recentHashes[slot]) { throw problem }
            } else {
                self.unresolvedCheckpoint = claim
            }
        }
        // One lookup per event (this is the one dictionary every event goes through); undone on a fault.
        let last = self.streamVersions.updateValue(link.streamVersion, forKey: link.stream)
        let jump: String? =
            if let last {
                link.streamVersion == last + 1
                    ? nil : "stream \(link.stream) jumps from version \(last) to \(link.streamVersion)"
            } else {
                self.startsAtGenesis && link.streamVersion != 1
                    ? "stream \(link.stream) starts at version \(link.streamVersion)" : nil
            }
        if let jump {
            self.streamVersions[link.stream] = last
            throw fail(jump)
        }
        self.recentHashes[Int(work.position % Int64(Self.recentCapacity))] = work.storedHash
        self.previousRecordedAt = link.recordedAt
        self.previousHash = work.storedHash
        self.nextPosition += 1
        self.eventsChecked += 1
        return link.stream
    }
}

/// A stream's name with its hash worked out once, where its event is prepared (on any core): the in-order checks
/// look every event's stream up twice, and would otherwise hash its two strings each time. Names compare exactly.
public struct StreamKey: Hashable, Sendable, CustomStringConvertible {
    public let name: StreamName
    private let hash: Int

    public init(_ name: StreamName) {
        self.name = name
        var hasher = Hasher()
        hasher.combine(name.type.utf8.count)
        name.hash(into: &hasher)
        self.hash = hasher.finalize()
    }

    public static func == (left: StreamKey, right: StreamKey) -> Bool {
        left.hash == right.hash && left.name == right.name
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(self.hash) }

    public var description: String { self.name.description }
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
            // Sorted as indexes, not as (key, value) tuples, which would cost a run-time type lookup per object.
            let keys = members.keys
            let order = keys.indices.sorted { Self.jsonbPrecedes(keys[$0], keys[$1]) }
            for (index, member) in order.enumerated() {
                if index > 0 { out.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
                CanonicalJSON.writeString(keys[member], into: &out)
                out.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
                Self.write(members[member].value, into: &out)
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

    /// jsonb's order of keys: shorter first, then by bytes.
    private static func jsonbPrecedes(_ left: String, _ right: String) -> Bool {
        var (left, right) = (left, right)
        return left.withUTF8 { a in
            right.withUTF8 { b in a.count != b.count ? a.count < b.count : a.lexicographicallyPrecedes(b) }
        }
    }
}

extension JSONBText {
    /// Whether `text` is exactly `of(value)`, found without writing it: verification compares a million copies.
    public static func matches(_ value: JSONValue, _ text: [UInt8]) -> Bool {
        text.withUnsafeBufferPointer { text in
            var cursor = JSONBTextCursor(text: text)
            return cursor.match(value) && cursor.atEnd
        }
    }
}

/// Reads jsonb's text of a value along with the value, as `JSONBText.write` would write it.
struct JSONBTextCursor {
    let text: UnsafeBufferPointer<UInt8>
    var index = 0

    init(text: UnsafeBufferPointer<UInt8>) { self.text = text }

    var atEnd: Bool { self.index == self.text.count }

    mutating func take(_ byte: UInt8) -> Bool {
        guard self.index < self.text.count, self.text[self.index] == byte else { return false }
        self.index += 1
        return true
    }

    mutating func take(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard self.index + count <= self.text.count,
            UTF8Bytes.order(
                UnsafeBufferPointer(start: literal.utf8Start, count: count),
                UnsafeBufferPointer(rebasing: self.text[self.index..<self.index + count])) == 0
        else { return false }
        self.index += count
        return true
    }

    mutating func match(_ value: JSONValue) -> Bool {
        switch value {
        case .null: return self.take("null")
        case .bool(let flag): return flag ? self.take("true") : self.take("false")
        case .integer(let number): return self.match(number)
        case .string(let text): return self.match(text)
        case .array(let elements):
            guard self.take(UInt8(ascii: "[")) else { return false }
            for index in elements.indices {
                guard index == 0 || self.take(", "), self.match(elements[index]) else { return false }
            }
            return self.take(UInt8(ascii: "]"))
        case .object(let object):
            return self.match(object.members)
        }
    }

    /// Members in jsonb's order: shorter names first, then bytes (the order is worked out in a buffer on the stack).
    private mutating func match(_ members: [JSONObject.Member]) -> Bool {
        guard self.take(UInt8(ascii: "{")) else { return false }
        let matched = withUnsafeTemporaryAllocation(of: Int.self, capacity: members.count) { buffer in
            var order = buffer
            for index in members.indices { order[index] = index }
            order.sort { left, right in
                let (a, b) = (members[left].key, members[right].key)
                let (lengthA, lengthB) = (a.utf8.count, b.utf8.count)
                return lengthA != lengthB ? lengthA < lengthB : a.utf8Order(b) < 0
            }
            for place in members.indices {
                let member = members[order[place]]
                guard place == 0 || self.take(", "), self.match(member.key), self.take(": "), self.match(member.value)
                else { return false }
            }
            return true
        }
        return matched && self.take(UInt8(ascii: "}"))
    }

    /// An integer as printed: no leading zero, no `-0`.
    private mutating func match(_ number: Int64) -> Bool {
        let negative = self.take(UInt8(ascii: "-"))
        let start = self.index
        var value: Int64 = 0
        while self.index < self.text.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self.text[self.index]) {
            let digit = Int64(self.text[self.index] - UInt8(ascii: "0"))
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) =
                negative ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { return false }
            value = next
            self.index += 1
        }
        let digits = self.index - start
        guard digits > 0, digits == 1 || self.text[start] != UInt8(ascii: "0"), !(negative && value == 0) else {
            return false
        }
        return value == number
    }

    /// A string escaped as `escape_json` (and `CanonicalJSON.writeString`) escapes it.
    mutating func match(_ string: String) -> Bool {
        guard self.take(UInt8(ascii: "\"")) else { return false }
        var string = string
        let matched = string.withUTF8 { bytes in
            for byte in bytes {
                let same: Bool =
                    switch byte {
                    case UInt8(ascii: "\""): self.take("\\\"")
                    case UInt8(ascii: "\\"): self.take("\\\\")
                    case 0x08: self.take("\\b")
                    case 0x09: self.take("\\t")
                    case 0x0A: self.take("\\n")
                    case 0x0C: self.take("\\f")
                    case 0x0D: self.take("\\r")
                    case 0x00..<0x20:
                        self.take("\\u00") && self.take(Self.hexDigits[Int(byte >> 4)])
                            && self.take(Self.hexDigits[Int(byte & 0x0F)])
                    default: self.take(byte)
                    }
                guard same else { return false }
            }
            return true
        }
        return matched && self.take(UInt8(ascii: "\""))
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
