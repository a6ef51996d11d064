import ConcordCore
import ConcordTestSupport
import Foundation
import Testing

enum RandomJSON {
    static let alphabet: [Character] = Array("aZ09 \"\\/\n\t\u{1}\u{1F}é—😀{}[],:")

    /// Member names: below U+10000, as the log's are; U+E000 and U+FF21 meet the other characters in the sort.
    static let keyAlphabet: [Character] = Array("aZ09 \"\\/\n\t\u{1}é—\u{E000}\u{FF21}{}[],:")

    static func string(_ rng: inout SeededRandom) -> String {
        String((0..<Int.random(in: 0...8, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
    }

    static func key(_ rng: inout SeededRandom) -> String {
        String((0..<Int.random(in: 0...4, using: &rng)).map { _ in keyAlphabet.randomElement(using: &rng)! })
    }

    static func value(_ rng: inout SeededRandom, depth: Int = 0) -> JSONValue {
        switch Int.random(in: 0...(depth > 3 ? 3 : 5), using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .integer(Int64.random(in: JSONValue.integerRange, using: &rng))
        case 3: return .string(string(&rng))
        case 4: return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in value(&rng, depth: depth + 1) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...4, using: &rng) { members[key(&rng)] = value(&rng, depth: depth + 1) }
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
        "99999999999999999999", "", "\"a\\u0000b\"", "9007199254740992", "-9007199254740992",
        "{\"b\":1,\"a\":2,\"b\":3}", "{\"\u{1F600}\":1}", "{\"\\ud83d\\ude00\":1}",
    ])
    func parserRefusesInvalidInput(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(text.utf8)) }
    }

    @Test func precomposedAndDecomposedKeysAreTwoKeysInUTF16Order() throws {
        // U+00E9 and U+0065 U+0301 are canonically equivalent (Swift's `==` says equal) but two keys by code units:
        // 0x0065 sorts before 0x00E9, so the decomposed one comes first whatever order they arrive in.
        let input = Array("{\"\u{E9}\":1,\"e\u{301}\":2}".utf8)
        let parsed = try JSONParser.parse(input)
        guard case .object(let members) = parsed else {
            Issue.record("not an object")
            return
        }
        #expect(members.count == 2)
        #expect(members["\u{E9}"] == 1 && members["e\u{301}"] == 2)
        #expect(CanonicalJSON.encode(parsed) == Array("{\"e\u{301}\":2,\"\u{E9}\":1}".utf8))
        #expect(
            CanonicalJSON.encode(parsed) == [
                0x7B, 0x22, 0x65, 0xCC, 0x81, 0x22, 0x3A, 0x32, 0x2C, 0x22, 0xC3, 0xA9, 0x22, 0x3A, 0x31, 0x7D,
            ])
        #expect(parsed != ["\u{E9}": 1, "\u{E9}": 2] as JSONValue)
        #expect(JSONValue.string("\u{E9}") != JSONValue.string("e\u{301}"))
        #expect(StreamName(type: "c", id: "\u{E9}") != StreamName(type: "c", id: "e\u{301}"))
        // The same key twice, byte for byte, is still a duplicate.
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array("{\"e\u{301}\":1,\"e\u{301}\":2}".utf8)) }
    }

    @Test func utf16OrderKnownAnswers() {
        // By code point U+FFFF < U+10000, by UTF-16 code unit 0xFFFF > 0xD800: RFC 8785 follows the code units.
        #expect("\u{10000}".precedesInUTF16Order("\u{FFFF}"))
        #expect(!"\u{FFFF}".precedesInUTF16Order("\u{10000}"))
        #expect("\u{E000}".precedesInUTF16Order("\u{FF21}"))
        #expect("\u{D7FF}".precedesInUTF16Order("\u{10000}"))
        #expect("a".precedesInUTF16Order("ab") && !"ab".precedesInUTF16Order("a") && !"a".precedesInUTF16Order("a"))
        var rng = SeededRandom(seed: 99)
        let pool: [Character] = Array("aé\u{301}\u{D7FF}\u{E000}\u{FFFF}\u{10000}\u{1F600}z")
        for _ in 0..<2_000 {
            let a = String((0..<Int.random(in: 0...3, using: &rng)).map { _ in pool.randomElement(using: &rng)! })
            let b = String((0..<Int.random(in: 0...3, using: &rng)).map { _ in pool.randomElement(using: &rng)! })
            #expect(a.precedesInUTF16Order(b) == a.utf16.lexicographicallyPrecedes(b.utf16), "\(a) \(b)")
        }
    }

    /// Verification compares the jsonb copies with `JSONBText.matches`, which reads the text instead of printing
    /// it: it must say yes exactly when the printer's bytes are the same.
    @Test func theCopyMatcherAgreesWithThePrinter() {
        var rng = SeededRandom(seed: 41)
        for _ in 0..<3_000 {
            let value = RandomJSON.value(&rng)
            let printed = JSONBText.of(value)
            #expect(JSONBText.matches(value, printed), "\(String(decoding: printed, as: UTF8.self))")
            // Another value, and the printed text with one byte changed, dropped or added.
            let other = RandomJSON.value(&rng)
            #expect(JSONBText.matches(other, printed) == (JSONBText.of(other) == printed))
            guard !printed.isEmpty else { continue }
            let at = Int.random(in: 0..<printed.count, using: &rng)
            var changed = printed
            switch Int.random(in: 0...2, using: &rng) {
            case 0: changed[at] = UInt8.random(in: 0x20...0x7E, using: &rng)
            case 1: changed.remove(at: at)
            default: changed.insert(UInt8.random(in: 0x20...0x7E, using: &rng), at: at)
            }
            #expect(
                JSONBText.matches(value, changed) == (changed == printed), "\(String(decoding: changed, as: UTF8.self))"
            )
        }
        // Names at or above U+10000 (built in code; the log refuses them), and more members than a few.
        let wide: JSONValue = ["\u{1F600}": 1, "\u{FF21}a": 2, "b": 3]
        #expect(JSONBText.matches(wide, JSONBText.of(wide)))
        let many = JSONValue.object(
            Dictionary(
                uniqueKeysWithValues: (0..<300).map {
                    (String(repeating: "z", count: 300 - $0) + "\($0)", JSONValue.integer(Int64($0)))
                }))
        #expect(JSONBText.matches(many, JSONBText.of(many)))
        #expect(!JSONBText.matches(.integer(0), Array("-0".utf8)) && !JSONBText.matches(.integer(7), Array("07".utf8)))
        #expect(!JSONBText.matches(.integer(1), Array("99999999999999999999".utf8)))
        #expect(JSONBText.matches(.integer(-9_007_199_254_740_991), Array("-9007199254740991".utf8)))
    }

    @Test func lookupsFindEveryMemberOfSmallAndLargeObjects() {
        var rng = SeededRandom(seed: 7)
        let pool: [Character] = Array("aé\u{301}\u{D7FF}\u{E000}\u{FFFF}z_")
        for size in [0, 1, 5, 16, 17, 40] {
            var keys = Set<[UInt8]>()
            while keys.count < size {
                keys.insert(
                    Array(
                        String((0..<Int.random(in: 1...4, using: &rng)).map { _ in pool.randomElement(using: &rng)! })
                            .utf8))
            }
            let object = JSONObject(
                keys.map { (String(decoding: $0, as: UTF8.self), JSONValue.integer(Int64($0.count))) })
            #expect(object.count == size)
            for key in keys { #expect(object[String(decoding: key, as: UTF8.self)] == .integer(Int64(key.count))) }
            #expect(object["\u{E9}\u{E9}\u{E9}\u{E9}\u{E9}"] == nil)
            #expect(object.keys == object.keys.sorted { $0.precedesInUTF16Order($1) })
            for key in keys {
                let text = String(decoding: key, as: UTF8.self)
                #expect(text.isExactly(String(decoding: key, as: UTF8.self)))
                #expect(!text.isExactly(text + "a") && !(text + "a").isExactly(text + "b"))
            }
        }
    }

    @Test func stringsAreReadAsTheirExactBytesAndInvalidUTF8IsRefused() throws {
        #expect(try JSONParser.parse(Array("\"plain ascii\"".utf8)) == .string("plain ascii"))
        #expect(
            try JSONParser.parse(Array("\"e\u{301} \u{E9} \u{1F600}\"".utf8)) == .string("e\u{301} \u{E9} \u{1F600}"))
        for bad: [UInt8] in [[0xFF], [0xC3], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80]] {
            let error = #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0x61] + bad + [0x22]) }
            #expect(error?.reason == "invalid UTF-8")
        }
    }

    @Test func integersOutsideIJSONAreRefusedNamingTheField() throws {
        #expect(try JSONParser.parse(Array("9007199254740991".utf8)) == .integer(9_007_199_254_740_991))
        #expect(try JSONParser.parse(Array("-9007199254740991".utf8)) == .integer(-9_007_199_254_740_991))
        let error = #expect(throws: JSONParseError.self) {
            try JSONParser.parse(Array(#"{"person":{"form_fields":[1,9007199254740992]}}"#.utf8))
        }
        #expect(error?.field == "person.form_fields.1")
        #expect(error?.reason.contains("integer out of range") == true)
        let key = #expect(throws: JSONParseError.self) {
            try JSONParser.parse(Array("{\"person\":{\"form_fields\":{\"\u{1F600}\":\"x\"}}}".utf8))
        }
        #expect(key?.field == "person.form_fields")
        #expect(key?.reason.contains("U+10000") == true)
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
