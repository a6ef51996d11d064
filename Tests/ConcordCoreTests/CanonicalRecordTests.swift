import Foundation
import Testing

@testable import ConcordCore

/// The fast reading of an event record (`JSONParser.canonicalRecord`) must accept exactly the canonical bytes the
/// generic reading accepts, and give the same event; anything else goes to the generic reading.
@Suite struct CanonicalRecordTests {
    static let canonical = Array(TestVector.firstCanonical.utf8)

    @Test func theFastReadingGivesTheEventTheGenericReadingGives() throws {
        let record = try #require(JSONParser.canonicalRecord(Self.canonical))
        let generic = try JSONParser.parse(Self.canonical, canonical: true)
        #expect(record.eventID == TestVector.first.id)
        #expect(record.eventType == generic["event_type"]?.stringValue)
        #expect(JSONValue.object(record.metadata) == generic["metadata"])
        #expect(record.payload == generic["payload"])
        #expect(record.position == 1)
        #expect(record.recordedAt == TestVector.first.recordedAt)
        #expect(record.schemaVersion == 1)
        #expect(record.streamID == "c-0001" && record.streamType == "complaint" && record.streamVersion == 1)
        #expect(try EventChain.decode(canonical: Self.canonical, hash: []) == TestVector.first)
    }

    /// Each variant differs from the canonical bytes in one place: the fast reading refuses it, and so does the
    /// strict generic reading, while the lenient one still reads the same event where the variant is valid JSON.
    @Test(arguments: [
        (#""position":1"#, #""position": 1"#, true),
        (#"{"event_id""#, #"{ "event_id""#, true),
        (#""6f1c2d3e-4b5a-4c6d"#, #""6F1C2D3E-4b5a-4c6d"#, false),
        (#""recorded_at":"2026-11-25T09:30:00.123456Z""#, #""recorded_at":"2026-11-25T09:30:00.123456+00:00""#, false),
        (#""schema_version":1"#, #""schema_version":01"#, false),
        (#""stream_id":"c-0001""#, #""stream_id":"c-\u0030001""#, true),
    ])
    func aVariantIsLeftToTheGenericReading(original: String, variant: String, readableWhenLenient: Bool) throws {
        let text = TestVector.firstCanonical.replacingOccurrences(of: original, with: variant)
        #expect(text != TestVector.firstCanonical)
        let bytes = Array(text.utf8)
        #expect(JSONParser.canonicalRecord(bytes) == nil)
        #expect(throws: EventDecodingError.self) { try EventChain.decode(canonical: bytes, hash: []) }
        if readableWhenLenient {
            #expect(try EventChain.decode(canonical: bytes, hash: [], checkingCanonicalForm: false) == TestVector.first)
        }
    }

    @Test func membersInAnotherOrderOrUnknownAreNotCanonical() throws {
        let swapped = TestVector.firstCanonical.replacingOccurrences(
            of: #""stream_id":"c-0001","stream_type":"complaint""#,
            with: #""stream_type":"complaint","stream_id":"c-0001""#)
        let unknownMetadata = TestVector.firstCanonical.replacingOccurrences(
            of: #""metadata":{"actor""#, with: #""metadata":{"acteur":"x","actor""#)
        #expect(JSONParser.canonicalRecord(Array(swapped.utf8)) == nil)
        for text in [swapped, unknownMetadata] {
            #expect(throws: EventDecodingError.self) { try EventChain.decode(canonical: Array(text.utf8), hash: []) }
        }
    }

    @Test(arguments: [
        EventMetadata(),
        EventMetadata(actor: "clerk-17", role: "office", scope: "OFF-001"),
        {
            var all = EventMetadata(
                actor: "a", role: "r", scope: "s", correlationID: "c", causationID: "k", idempotencyKey: "i",
                clientTime: "t")
            all.actorName = "Amina \"A\" Diallo"
            all.owner = "o"
            return all
        }(),
    ])
    func metadataIsWrittenAsTheGenericEncodersWriteIt(_ metadata: EventMetadata) {
        // The definitions the direct writers must agree with: a sorted object, and jsonb's text of it.
        var members: [String: JSONValue] = [:]
        for key in EventMetadata.CodingKeys.allCases {
            if let value = metadata.value(of: key) { members[key.rawValue] = .string(value) }
        }
        let object = JSONValue.object(members)
        #expect(CanonicalJSON.encode(metadata.jsonValue) == CanonicalJSON.encode(object))
        #expect(metadata.jsonbText == JSONBText.of(object))
        #expect(metadata.matchesJSONBText(JSONBText.of(object)))
        #expect(!metadata.matchesJSONBText(JSONBText.of(object) + [0x20]))
        #expect(!metadata.matchesJSONBText(Array(JSONBText.of(object).dropLast(2)) + [UInt8(ascii: "}")]))
        #expect(EventMetadata(jsonValue: metadata.jsonValue) == metadata)
    }

    @Test func stringsAreComparedByTheirScalarsNotByEquivalence() {
        #expect("\u{E9}" == "e\u{301}")
        #expect(!"\u{E9}".isExactly("e\u{301}"))
        #expect("caf\u{E9}".isExactly("caf\u{E9}"))
        #expect(!"ab".isExactly("abc") && !"".isExactly("a") && "".isExactly(""))
        let long = String(repeating: "é", count: 40)
        #expect(long.isExactly(String(repeating: "é", count: 40)))
    }

    @Test func identifiersAndTimesHaveOneTextForm() {
        #expect(UUID(lowercaseText: "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f") == TestVector.first.id)
        for text in [
            "6F1C2D3E-4B5A-4C6D-8E7F-9A0B1C2D3E4F", "6f1c2d3e4b5a4c6d8e7f9a0b1c2d3e4f",
            "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4", "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4ff", "",
        ] {
            #expect(UUID(lowercaseText: text) == nil, "\(text)")
        }
        let time = Timestamp(microsecondsSinceEpoch: 1_790_000_000_123_456)
        #expect(Timestamp(rfc3339: time.rfc3339) == time)
        for text in ["2026-02-31T00:00:00.000000Z", "2026-11-25T24:00:00.000000Z", "2026-11-25T09:30:00.12345Z"] {
            #expect(Timestamp(rfc3339: text) == nil, "\(text)")
        }
    }
}
