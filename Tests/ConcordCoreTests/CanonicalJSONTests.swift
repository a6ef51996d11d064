import ConcordCore
import ConcordTestSupport
import Foundation
import Testing

enum RandomJSON {
    static let alphabet: [Character] = Array("aZ09 \"\\/\n\t\u{1}\u{1F}é—😀{}[],:")

    static func string(_ rng: inout SeededRandom) -> String {
        String((0..<Int.random(in: 0...8, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
    }

    static func value(_ rng: inout SeededRandom, depth: Int = 0) -> JSONValue {
        switch Int.random(in: 0...(depth > 3 ? 3 : 5), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .integer(Int64.random(in: Int64.min...Int64.max, using: &rng))
        case 3: return .string(string(&rng))
        case 4: return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in value(&rng, depth: depth + 1) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &rng) { members[string(&rng)] = value(&rng, depth: depth + 1) }
            return .object(members)
        }
    }
}

@Suite struct CanonicalJSONTests {
    @Test func sortsKeysAndEscapesMinimally() {
        let value: JSONValue = ["b": 1, "a": ["x\"\\\n\u{1}/é": true, "": nil], "A": [1, -2, "3"]]
        #expect(
            String(decoding: CanonicalJSON.encode(value), as: UTF8.self)
                == #"{"A":[1,-2,"3"],"a":{"":null,"x\"\\\n\u0001/é":true},"b":1}"#)
    }

    @Test func keysSortByUTF16CodeUnits() {
        // U+FF21 sorts after U+1F600 by code point but before it by UTF-16 code unit (0xD83D).
        let value: JSONValue = ["\u{1F600}": 1, "\u{FF21}": 2]
        #expect(String(decoding: CanonicalJSON.encode(value), as: UTF8.self) == "{\"\u{1F600}\":1,\"\u{FF21}\":2}")
    }

    @Test func parseAndEncodeRoundTripOnRandomValues() throws {
        var rng = SeededRandom(seed: 20_261_125)
        for _ in 0..<2_000 {
            let value = RandomJSON.value(&rng)
            let bytes = CanonicalJSON.encode(value)
            let parsed = try JSONParser.parse(bytes)
            #expect(parsed == value)
            #expect(CanonicalJSON.encode(parsed) == bytes)
        }
    }

    @Test func agreesWithFoundationOnRandomValues() throws {
        var rng = SeededRandom(seed: 7)
        for _ in 0..<500 {
            let value = RandomJSON.value(&rng)
            let viaFoundation = try JSONDecoder().decode(JSONValue.self, from: Data(CanonicalJSON.encode(value)))
            #expect(viaFoundation == value)
        }
    }

    @Test(arguments: [
        "1.5", "1e3", "01", "[1,]", "{\"a\":1,\"a\":2}", "\"\\x\"", "\"\u{1}\"", "tru", "[1] x", "\"\\ud800\"",
        "99999999999999999999", "", "\"a\\u0000b\"",
    ])
    func parserRefusesInvalidInput(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(text.utf8)) }
    }

    @Test func parserAcceptsWhitespaceAndEscapes() throws {
        let parsed = try JSONParser.parse(Array(#" { "a" : [ "\u00e9\ud83d\ude00\/" , -0 ] } "#.utf8))
        #expect(parsed == ["a": ["é😀/", 0]])
    }
}

@Suite struct TimestampTests {
    @Test func formatsFixedWidth() {
        #expect(Timestamp(microsecondsSinceEpoch: 0).rfc3339 == "1970-01-01T00:00:00.000000Z")
        #expect(Timestamp(microsecondsSinceEpoch: 1_764_063_000_123_456).rfc3339 == "2025-11-25T09:30:00.123456Z")
        #expect(Timestamp(microsecondsSinceEpoch: -1).rfc3339 == "1969-12-31T23:59:59.999999Z")
    }

    @Test func roundTripsRandomInstants() {
        var rng = SeededRandom(seed: 42)
        for _ in 0..<5_000 {
            let micros = Int64.random(in: -2_000_000_000_000_000...4_000_000_000_000_000, using: &rng)
            let timestamp = Timestamp(microsecondsSinceEpoch: micros)
            #expect(Timestamp(rfc3339: timestamp.rfc3339) == timestamp)
        }
    }

    @Test(arguments: ["2026-02-30T00:00:00.000000Z", "2026-11-25T24:00:00.000000Z", "2026-11-25T09:30:00Z", "garbage"])
    func refusesInvalidText(_ text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }
}
