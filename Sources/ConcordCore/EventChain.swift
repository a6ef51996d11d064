import Crypto
import Foundation

/// The canonical bytes of a recorded event and the hash chain over them. The server and every audit tool share
/// this one definition; `docs/event-log.md` restates it byte for byte.
public enum EventChain {
    /// The previous hash of the first event: 32 zero bytes.
    public static let genesisHash = [UInt8](repeating: 0, count: 32)

    /// The canonical JSON object of an event: every field but the hash, keys sorted, no whitespace.
    public static func canonicalBytes(of event: RecordedEvent) -> [UInt8] {
        self.canonicalParts(of: event).record
    }

    /// The canonical record and, as by-products, the canonical payload and metadata (the log stores those as its
    /// queryable copies). Written field by field in sorted key order, which is what `CanonicalJSON` would produce
    /// for the same object, without building and sorting a dictionary per event.
    public static func canonicalParts(of event: RecordedEvent) -> (record: [UInt8], payload: [UInt8], metadata: [UInt8])
    {
        let payload = CanonicalJSON.encode(event.payload)
        let metadata = CanonicalJSON.encode(event.metadata.jsonValue)
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + metadata.count + 320)
        func field(_ name: StaticString, first: Bool = false) {
            out.append(first ? UInt8(ascii: "{") : UInt8(ascii: ","))
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        }
        field("event_id", first: true)
        CanonicalJSON.writeString(event.id.lowercaseText, into: &out)
        field("event_type")
        CanonicalJSON.writeString(event.type, into: &out)
        field("metadata")
        out.append(contentsOf: metadata)
        field("payload")
        out.append(contentsOf: payload)
        field("position")
        out.append(contentsOf: String(event.position).utf8)
        field("recorded_at")
        CanonicalJSON.writeString(event.recordedAt.rfc3339, into: &out)
        field("schema_version")
        out.append(contentsOf: String(event.schemaVersion).utf8)
        field("stream_id")
        CanonicalJSON.writeString(event.stream.id, into: &out)
        field("stream_type")
        CanonicalJSON.writeString(event.stream.type, into: &out)
        field("stream_version")
        out.append(contentsOf: String(event.streamVersion).utf8)
        out.append(UInt8(ascii: "}"))
        return (out, payload, metadata)
    }

    /// The same record through the generic encoder: the definition `canonicalParts` must agree with (tests check).
    public static func canonicalRecordValue(of event: RecordedEvent) -> JSONValue {
        .object([
            "event_id": .string(event.id.lowercaseText),
            "event_type": .string(event.type),
            "metadata": event.metadata.jsonValue,
            "payload": event.payload,
            "position": .integer(event.position),
            "recorded_at": .string(event.recordedAt.rfc3339),
            "schema_version": .integer(Int64(event.schemaVersion)),
            "stream_id": .string(event.stream.id),
            "stream_type": .string(event.stream.type),
            "stream_version": .integer(event.streamVersion),
        ])
    }

    /// `SHA-256(previousHash ‖ canonicalBytes)`.
    public static func hash(previous: [UInt8], canonical: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous)
        hasher.update(data: canonical)
        return Array(hasher.finalize())
    }

    /// Rebuilds an event from its canonical bytes, checking (unless `checkingCanonicalForm` is false) that they are
    /// canonical: exactly the bytes that encoding the event again would give. The parser checks the form while it
    /// reads (no second encoding); what it cannot know is checked here: the record's members and metadata are the
    /// known ones, and each value has its one text form. Verification always checks; the service's own reads of
    /// bytes it wrote may skip it. `hash` is the stored hash; it is not checked here.
    public static func decode(
        canonical bytes: [UInt8], hash: [UInt8], checkingCanonicalForm: Bool = true
    ) throws(EventDecodingError) -> RecordedEvent {
        if let record = JSONParser.canonicalRecord(bytes), record.metadata.allSatisfy(Self.isMetadataMember) {
            return RecordedEvent(
                position: record.position, stream: StreamName(type: record.streamType, id: record.streamID),
                streamVersion: record.streamVersion, id: record.eventID, type: record.eventType,
                schemaVersion: record.schemaVersion, payload: record.payload,
                metadata: EventMetadata(jsonValue: .object(record.metadata)), recordedAt: record.recordedAt,
                hash: hash)
        }
        // Not in canonical form: read generically, to accept it (when not checking the form) or say what is wrong.
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes, canonical: checkingCanonicalForm)
        } catch {
            throw EventDecodingError(
                reason: checkingCanonicalForm ? "bytes are not canonical: \(error.description)" : error.description)
        }
        guard case .object(let members) = value else { throw EventDecodingError(reason: "not a JSON object") }
        func string(_ key: String) throws(EventDecodingError) -> String {
            guard let text = members[key]?.stringValue else { throw EventDecodingError(reason: "\(key) missing") }
            return text
        }
        func integer(_ key: String) throws(EventDecodingError) -> Int64 {
            guard let number = members[key]?.integerValue else { throw EventDecodingError(reason: "\(key) missing") }
            return number
        }
        guard members.count == 10 else {
            throw EventDecodingError(reason: "expected 10 members, found \(members.count)")
        }
        guard let id = UUID(lowercaseText: try string("event_id")) else {
            throw EventDecodingError(reason: "bad event_id")
        }
        let recordedAtText = try string("recorded_at")
        guard let recordedAt = Timestamp(rfc3339: recordedAtText) else {
            throw EventDecodingError(reason: "bad recorded_at")
        }
        guard let schemaVersion = Int32(exactly: try integer("schema_version")) else {
            throw EventDecodingError(reason: "bad schema_version")
        }
        guard let metadata = members["metadata"], case .object(let metadataMembers) = metadata,
            let payload = members["payload"]
        else {
            throw EventDecodingError(reason: "metadata or payload missing")
        }
        if checkingCanonicalForm {
            // Ten members found by name and no more: exactly the record's. The metadata holds only known strings
            // (an unknown one would be dropped by decoding), and the time has one text form.
            guard metadataMembers.allSatisfy(Self.isMetadataMember),
                recordedAt.rfc3339.utf8.elementsEqual(recordedAtText.utf8)
            else { throw EventDecodingError(reason: "bytes are not canonical") }
        }
        let event = RecordedEvent(
            position: try integer("position"),
            stream: StreamName(type: try string("stream_type"), id: try string("stream_id")),
            streamVersion: try integer("stream_version"), id: id, type: try string("event_type"),
            schemaVersion: schemaVersion, payload: payload, metadata: EventMetadata(jsonValue: metadata),
            recordedAt: recordedAt, hash: hash)
        return event
    }
}

extension EventChain {
    /// A metadata member canonical bytes may hold: a known name (exactly) with a string value. An unknown one would
    /// be dropped by decoding, so its bytes could not be written again.
    static func isMetadataMember(_ member: JSONObject.Element) -> Bool {
        guard case .string = member.value else { return false }
        return EventMetadata.CodingKeys.allCases.contains { $0.rawValue.isExactly(member.key) }
    }
}

public struct EventDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var description: String { "undecodable event: \(self.reason)" }
}

extension [UInt8] {
    /// Lowercase hexadecimal, as the docs and the CLI print hashes.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(self.count * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension UUID {
    /// The lowercase text form (`8-4-4-4-12` hex digits), without Foundation's formatter (a hot path of
    /// verification and of every append).
    public var lowercaseText: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(36)
        withUnsafeBytes(of: self.uuid) { bytes in
            for (index, byte) in bytes.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 { out.append(UInt8(ascii: "-")) }
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses exactly the lowercase text form; nil for anything else (upper case included: not canonical).
    public init?(lowercaseText text: String) {
        var text = text
        guard let uuid = text.withUTF8({ Self.parseLowercase($0) }) else { return nil }
        self.init(uuid: uuid)
    }

    /// The same, from the text's UTF-8 bytes (the verifier reads it straight from the canonical bytes).
    init?(lowercaseUTF8 bytes: UnsafeBufferPointer<UInt8>) {
        guard let uuid = Self.parseLowercase(bytes) else { return nil }
        self.init(uuid: uuid)
    }

    private static func parseLowercase(_ text: UnsafeBufferPointer<UInt8>) -> uuid_t? {
        guard text.count == 36 else { return nil }
        var uuid: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let parsed = withUnsafeMutableBytes(of: &uuid) { out -> Bool in
            var high: UInt8? = nil
            var count = 0
            for (index, character) in text.enumerated() {
                if index == 8 || index == 13 || index == 18 || index == 23 {
                    guard character == UInt8(ascii: "-") else { return false }
                    continue
                }
                let value: UInt8
                switch character {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): value = character - UInt8(ascii: "a") + 10
                default: return false
                }
                if let first = high {
                    out[count] = first << 4 | value
                    count += 1
                    high = nil
                } else {
                    high = value
                }
            }
            return count == 16
        }
        return parsed ? uuid : nil
    }
}
