import ConcordCore
import ConcordTestSupport
import Foundation
import Testing

/// The worked example of docs/event-log.md: the same two events, canonical bytes and hashes that the Python
/// verifier in the docs computes.
enum TestVector {
    static let first = RecordedEvent(
        position: 1, stream: StreamName(type: "complaint", id: "c-0001"), streamVersion: 1,
        id: UUID(uuidString: "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f")!, type: "ComplaintLodged", schemaVersion: 1,
        payload: [
            "anonymous": true, "area": "D-01", "at": "2026-11-25T09:30:00.123456Z", "category": "payment_delay",
            "channel": "walk_in", "contact_preference": "none", "description": "Paiement en retard — \"urgent\"\n",
            "office": "OFF-001", "programme": "CCT", "sensitive": false,
        ],
        metadata: EventMetadata(actor: "clerk-17", role: "office", scope: "OFF-001"),
        recordedAt: Timestamp(rfc3339: "2026-11-25T09:30:00.123456Z")!, hash: [])
    static let second = RecordedEvent(
        position: 2, stream: StreamName(type: "complaint", id: "c-0001"), streamVersion: 2,
        id: UUID(uuidString: "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d")!, type: "ComplaintAcknowledged", schemaVersion: 1,
        payload: ["at": "2026-11-25T09:31:07.000001Z"],
        metadata: EventMetadata(actor: "officer-3", role: "programme", scope: "CCT"),
        recordedAt: Timestamp(rfc3339: "2026-11-25T09:31:07.000001Z")!, hash: [])

    static let firstCanonical =
        #"{"event_id":"6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f","event_type":"ComplaintLodged","metadata":{"actor":"clerk-17","role":"office","scope":"OFF-001"},"payload":{"anonymous":true,"area":"D-01","at":"2026-11-25T09:30:00.123456Z","category":"payment_delay","channel":"walk_in","contact_preference":"none","description":"Paiement en retard — \"urgent\"\n","office":"OFF-001","programme":"CCT","sensitive":false},"position":1,"recorded_at":"2026-11-25T09:30:00.123456Z","schema_version":1,"stream_id":"c-0001","stream_type":"complaint","stream_version":1}"#
    static let firstHash = "1292173f13ebaf7df5eaa2afd10e7547110bc78161ccdc08bf6fa35f6c27a27f"
    static let secondHash = "8c7a5b3f6fb4889ae1babe0fd0159ffb0be6bee421205ae87d4689b1c68c858a"
}

@Suite struct EventChainTests {
    @Test func canonicalBytesMatchTheDocumentedVector() {
        #expect(
            String(decoding: EventChain.canonicalBytes(of: TestVector.first), as: UTF8.self)
                == TestVector.firstCanonical)
    }

    @Test func hashesMatchTheDocumentedVector() {
        let first = EventChain.hash(
            previous: EventChain.genesisHash, canonical: EventChain.canonicalBytes(of: TestVector.first))
        let second = EventChain.hash(previous: first, canonical: EventChain.canonicalBytes(of: TestVector.second))
        #expect(first.hexString == TestVector.firstHash)
        #expect(second.hexString == TestVector.secondHash)
    }

    @Test func fieldByFieldEncodingAgreesWithTheGenericEncoder() throws {
        var rng = SeededRandom(seed: 99)
        for index in 0..<500 {
            let event = RecordedEvent(
                position: Int64(index), stream: StreamName(type: RandomJSON.string(&rng), id: RandomJSON.string(&rng)),
                streamVersion: Int64.random(in: 1...1_000_000, using: &rng), id: UUID(), type: RandomJSON.string(&rng),
                schemaVersion: Int32.random(in: 1...9, using: &rng), payload: RandomJSON.value(&rng),
                metadata: EventMetadata(actor: RandomJSON.string(&rng), clientTime: "2026-11-25T10:00:00+03:00"),
                recordedAt: Timestamp(microsecondsSinceEpoch: Int64.random(in: 0...4_000_000_000_000_000, using: &rng)),
                hash: [])
            let parts = EventChain.canonicalParts(of: event)
            #expect(parts.record == CanonicalJSON.encode(EventChain.canonicalRecordValue(of: event)))
            #expect(parts.payload == CanonicalJSON.encode(event.payload))
        }
    }

    /// Checking the form while parsing must accept exactly the bytes that re-encoding the decoded event gives back:
    /// random events, each altered at random (a byte changed, inserted or removed), judged both ways.
    @Test func theCanonicalParseAgreesWithReencoding() throws {
        var rng = SeededRandom(seed: 2026)
        let noise = Array(" \t\n\\\"/:,{}[]0-1eu5Aaé".utf8) + [0x00, 0x1F, 0x7F, 0xC3, 0xE9]
        var accepted = 0
        for index in 0..<3_000 {
            let event = RecordedEvent(
                position: Int64(index + 1), stream: StreamName(type: "complaint", id: RandomJSON.string(&rng)),
                streamVersion: Int64.random(in: 1...1_000, using: &rng), id: UUID(), type: RandomJSON.string(&rng),
                schemaVersion: Int32.random(in: 1...9, using: &rng), payload: RandomJSON.value(&rng),
                metadata: EventMetadata(actor: RandomJSON.string(&rng), scope: "OFF-001"),
                recordedAt: Timestamp(microsecondsSinceEpoch: Int64.random(in: 0...4_000_000_000_000_000, using: &rng)),
                hash: [])
            var bytes = EventChain.canonicalBytes(of: event)
            let spot = Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: bytes[spot] = noise.randomElement(using: &rng) ?? 0
            case 1: bytes.insert(noise.randomElement(using: &rng) ?? 0, at: spot)
            case 2: bytes.remove(at: spot)
            default: break  // unchanged: must be accepted
            }
            let byReencoding =
                (try? EventChain.decode(canonical: bytes, hash: [], checkingCanonicalForm: false)).map {
                    EventChain.canonicalBytes(of: $0) == bytes
                } ?? false
            let whileParsing = (try? EventChain.decode(canonical: bytes, hash: [])) != nil
            #expect(whileParsing == byReencoding, "\(String(decoding: bytes, as: UTF8.self))")
            if whileParsing { accepted += 1 }
        }
        #expect(accepted > 750)  // the unchanged quarter at least, so both sides were exercised
    }

    @Test func decodeRebuildsTheEvent() throws {
        let bytes = EventChain.canonicalBytes(of: TestVector.first)
        let decoded = try EventChain.decode(canonical: bytes, hash: [1, 2, 3])
        var expected = TestVector.first
        expected.hash = [1, 2, 3]
        #expect(decoded == expected)
    }

    @Test func eventIDsHaveOneTextForm() {
        for _ in 0..<200 {
            let id = UUID()
            #expect(id.lowercaseText == id.uuidString.lowercased())
            #expect(UUID(lowercaseText: id.lowercaseText) == id)
            #expect(UUID(lowercaseText: id.uuidString.uppercased()) == nil || id.uuidString.allSatisfy { !$0.isLetter })
        }
        for bad in [
            "", "0", "00000000-0000-0000-0000-00000000000", "00000000-0000-0000-0000-0000000000000",
            "00000000_0000-0000-0000-000000000000", "0000000g-0000-0000-0000-000000000000",
        ] {
            #expect(UUID(lowercaseText: bad) == nil, "\(bad)")
        }
    }

    @Test func decodeRefusesNonCanonicalBytes() {
        let spaced = Array(
            TestVector.firstCanonical.replacingOccurrences(of: #""position":1"#, with: #""position": 1"#).utf8)
        #expect(throws: EventDecodingError.self) { try EventChain.decode(canonical: spaced, hash: []) }
    }
}

@Suite struct ChainVerifierTests {
    static func chain(_ count: Int) -> [ChainVerifier.StoredEvent] {
        var previous = EventChain.genesisHash
        return (1...count).map { index in
            let event = RecordedEvent(
                position: Int64(index), stream: StreamName(type: "referral", id: "r-\(index % 3)"),
                streamVersion: Int64((index - 1) / 3 + 1), id: UUID(), type: "Noted", schemaVersion: 1,
                payload: ["n": .integer(Int64(index))], metadata: EventMetadata(), recordedAt: .now(), hash: [])
            let canonical = EventChain.canonicalBytes(of: event)
            previous = EventChain.hash(previous: previous, canonical: canonical)
            return ChainVerifier.StoredEvent(
                position: event.position, stream: event.stream, streamVersion: event.streamVersion, eventID: event.id,
                eventType: event.type, schemaVersion: event.schemaVersion, canonical: canonical, hash: previous,
                copies: nil)
        }
    }

    static func firstProblem(_ events: [ChainVerifier.StoredEvent]) -> ChainVerifier.Problem? {
        var verifier = ChainVerifier()
        do {
            for event in events { try verifier.check(event) }
        } catch { return error }
        return nil
    }

    @Test func soundChainPasses() {
        #expect(Self.firstProblem(Self.chain(30)) == nil)
    }

    @Test func editedPayloadIsFoundAtItsPosition() {
        var events = Self.chain(10)
        events[4].canonical = Array(
            String(decoding: events[4].canonical, as: UTF8.self)
                .replacingOccurrences(of: #""n":5"#, with: #""n":6"#).utf8)
        #expect(Self.firstProblem(events)?.position == 5)
    }

    @Test func deletedEventIsFoundAtItsPosition() {
        var events = Self.chain(10)
        events.remove(at: 6)
        #expect(Self.firstProblem(events)?.position == 7)
    }

    @Test func swappedEventsAreFound() {
        var events = Self.chain(10)
        events.swapAt(2, 3)
        #expect(Self.firstProblem(events)?.position == 3)
    }

    @Test func recomputedHashIsFoundAtTheNextEvent() {
        var events = Self.chain(10)
        events[4].canonical = Array(
            String(decoding: events[4].canonical, as: UTF8.self)
                .replacingOccurrences(of: #""n":5"#, with: #""n":6"#).utf8)
        events[4].hash = EventChain.hash(previous: events[3].hash, canonical: events[4].canonical)
        #expect(Self.firstProblem(events)?.position == 6)
    }
}

@Suite struct ExpectedVersionTests {
    @Test(arguments: [
        (ExpectedVersion.noStream, Int64(0), true), (.noStream, 1, false), (.exact(3), 3, true), (.exact(3), 2, false),
        (.any, 0, true), (.any, 9, true),
    ])
    func satisfaction(expected: ExpectedVersion, current: Int64, satisfied: Bool) {
        #expect(expected.isSatisfied(byCurrentVersion: current) == satisfied)
    }
}
