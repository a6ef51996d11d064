import Foundation

/// A small strict JSON parser into `JSONValue`. The log reads events from their stored canonical bytes with it, so it
/// must be fast and must refuse anything `JSONValue` cannot hold (fractional numbers, integers outside the I-JSON
/// range, duplicate keys, member names with characters at or above U+10000, bad escapes).
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var offset: Int
    public var reason: String
    /// The member names (and array indexes) leading to the faulty value, outermost first; empty at the top.
    public var path: [String] = []

    public init(offset: Int, reason: String, path: [String] = []) {
        self.offset = offset
        self.reason = reason
        self.path = path
    }

    /// The path as a request's field is named: `person.form_fields.age`.
    public var field: String { self.path.joined(separator: ".") }

    public var description: String {
        "invalid JSON at byte \(self.offset)\(self.path.isEmpty ? "" : " (in \(self.field))"): \(self.reason)"
    }
}

public enum JSONParser {
    /// Parses any JSON text `JSONValue` can hold. With `canonical`, also refuses anything that is not already in
    /// the canonical form of `docs/event-log.md` (whitespace, members out of order, an escape the form does not
    /// use, `-0`), so that the log's bytes are checked while they are read instead of by encoding them again.
    public static func parse(
        _ bytes: some Collection<UInt8>, canonical: Bool = false
    ) throws(JSONParseError) -> JSONValue {
        let buffer = Array(bytes)
        var reader = Reader(bytes: buffer, canonical: canonical)
        reader.skipWhitespace()
        let value = try reader.parseValue(depth: 0)
        reader.skipWhitespace()
        guard reader.index == buffer.count else { throw reader.error("trailing characters after the value") }
        return value
    }
}

extension JSONParseError {
    /// The same error, one level further in: inside the member (or array element) `name`.
    func inside(_ name: String) -> JSONParseError {
        var error = self
        error.path.insert(name, at: 0)
        return error
    }
}

private struct Reader {
    let bytes: [UInt8]
    /// Only the canonical form is accepted.
    let canonical: Bool
    var index = 0
    static let maximumDepth = 64

    init(bytes: [UInt8], canonical: Bool) {
        self.bytes = bytes
        self.canonical = canonical
    }

    func error(_ reason: String) -> JSONParseError { JSONParseError(offset: self.index, reason: reason) }

    func outOfRange() -> JSONParseError {
        self.error(
            "integer out of range: integers run from \(JSONValue.integerRange.lowerBound) to "
                + "\(JSONValue.integerRange.upperBound) (send larger numbers as strings)")
    }

    /// In canonical mode there is none to skip: whitespace then fails as an unexpected character.
    mutating func skipWhitespace() {
        guard !self.canonical else { return }
        while self.index < self.bytes.count {
            switch self.bytes[self.index] {
            case 0x20, 0x09, 0x0A, 0x0D: self.index += 1
            default: return
            }
        }
    }

    mutating func expect(_ literal: String, value: JSONValue) throws(JSONParseError) -> JSONValue {
        for byte in literal.utf8 {
            guard self.index < self.bytes.count, self.bytes[self.index] == byte else {
                throw self.error("expected \(literal)")
            }
            self.index += 1
        }
        return value
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth < Self.maximumDepth else { throw self.error("nested deeper than \(Self.maximumDepth)") }
        guard self.index < self.bytes.count else { throw self.error("unexpected end of input") }
        switch self.bytes[self.index] {
        case UInt8(ascii: "{"): return try self.parseObject(depth: depth)
        case UInt8(ascii: "["): return try self.parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try self.parseString())
        case UInt8(ascii: "t"): return try self.expect("true", value: .bool(true))
        case UInt8(ascii: "f"): return try self.expect("false", value: .bool(false))
        case UInt8(ascii: "n"): return try self.expect("null", value: .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .integer(try self.parseInteger())
        default: throw self.error("unexpected character")
        }
    }

    mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        self.index += 1
        var members: [JSONObject.Member] = []
        members.reserveCapacity(12)  // an event record has 10 members: no regrowth while filling it
        // Canonical input (the log) comes in order: then no sort is needed, and duplicates are neighbours.
        var ordered = true
        self.skipWhitespace()
        if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "}") {
            self.index += 1
            return .object(JSONObject(ordered: members))
        }
        while true {
            self.skipWhitespace()
            guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "\"") else {
                throw self.error("expected a member name")
            }
            let key = try self.parseString()
            guard !key.hasCharacterAboveBMP else {
                throw self.error("member name \(key) has a character at or above U+10000; Concord's names do not")
            }
            self.skipWhitespace()
            guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: ":") else {
                throw self.error("expected ':'")
            }
            self.index += 1
            self.skipWhitespace()
            let value: JSONValue
            do { value = try self.parseValue(depth: depth + 1) } catch { throw error.inside(key) }
            if let last = members.last {
                guard !last.key.isExactly(key) else { throw self.error("duplicate member \(key)") }
                if ordered && !last.key.precedesInUTF16Order(key) {
                    guard !self.canonical else { throw self.error("member \(key) is out of canonical order") }
                    ordered = false
                }
            }
            members.append(JSONObject.Member(key: key, value: value))
            self.skipWhitespace()
            guard self.index < self.bytes.count else { throw self.error("unexpected end of object") }
            let separator = self.bytes[self.index]
            self.index += 1
            if separator == UInt8(ascii: "}") { break }
            guard separator == UInt8(ascii: ",") else { throw self.error("expected ',' or '}'") }
        }
        if !ordered {
            members.sort { $0.key.precedesInUTF16Order($1.key) }
            for index in members.indices.dropFirst() where members[index - 1].key.isExactly(members[index].key) {
                throw self.error("duplicate member \(members[index].key)")
            }
        }
        return .object(JSONObject(ordered: members))
    }

    mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        self.index += 1
        var elements: [JSONValue] = []
        self.skipWhitespace()
        if self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "]") {
            self.index += 1
            return .array(elements)
        }
        while true {
            self.skipWhitespace()
            do { elements.append(try self.parseValue(depth: depth + 1)) } catch {
                throw error.inside(
                    String(elements.count))
            }
            self.skipWhitespace()
            guard self.index < self.bytes.count else { throw self.error("unexpected end of array") }
            let separator = self.bytes[self.index]
            self.index += 1
            if separator == UInt8(ascii: "]") { return .array(elements) }
            guard separator == UInt8(ascii: ",") else { throw self.error("expected ',' or ']'") }
        }
    }

    mutating func parseInteger() throws(JSONParseError) -> Int64 {
        let start = self.index
        if self.bytes[self.index] == UInt8(ascii: "-") { self.index += 1 }
        let digitsStart = self.index
        while self.index < self.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self.bytes[self.index]) {
            self.index += 1
        }
        let digits = self.index - digitsStart
        guard digits > 0 else { throw self.error("expected digits") }
        guard digits == 1 || self.bytes[digitsStart] != UInt8(ascii: "0") else { throw self.error("leading zero") }
        guard !self.canonical || digitsStart == start || self.bytes[digitsStart] != UInt8(ascii: "0") else {
            throw self.error("-0 is written 0 in canonical form")
        }
        if self.index < self.bytes.count,
            self.bytes[self.index] == UInt8(ascii: ".") || self.bytes[self.index] | 0x20 == UInt8(ascii: "e")
        {
            throw self.error("fractional numbers are not allowed; send amounts as strings")
        }
        // Accumulated directly (no intermediate String): the log parses millions of these.
        let negative = start != digitsStart
        var value: Int64 = 0
        for index in digitsStart..<self.index {
            let digit = Int64(self.bytes[index] - UInt8(ascii: "0"))
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) =
                negative ? times10.subtractingReportingOverflow(digit) : times10.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { throw self.outOfRange() }
            value = next
        }
        guard JSONValue.integerRange.contains(value) else { throw self.outOfRange() }
        return value
    }

    mutating func parseString() throws(JSONParseError) -> String {
        self.index += 1
        // Fast path: most strings have no escape; make the String straight from the bytes.
        var end = self.index
        var ascii = true
        while end < self.bytes.count {
            let byte = self.bytes[end]
            if byte == UInt8(ascii: "\"") {
                // ASCII is valid UTF-8 as it is; anything else is validated (the generic validation is slow).
                let text = self.bytes.withUnsafeBufferPointer { bytes in
                    let run = UnsafeBufferPointer(rebasing: bytes[self.index..<end])
                    return ascii ? String(decoding: run, as: UTF8.self) : String(validating: run, as: UTF8.self)
                }
                guard let text else { throw self.error("invalid UTF-8") }
                self.index = end + 1
                return text
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            if byte >= 0x80 { ascii = false }
            end += 1
        }
        var out = Array(self.bytes[self.index..<end])
        self.index = end
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            self.index += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: out, as: UTF8.self) else { throw self.error("invalid UTF-8") }
                return text
            case UInt8(ascii: "\\"):
                try self.parseEscape(into: &out)
            case 0x00..<0x20:
                throw self.error("unescaped control character in string")
            default:
                out.append(byte)
            }
        }
        throw self.error("unterminated string")
    }

    mutating func parseEscape(into out: inout [UInt8]) throws(JSONParseError) {
        guard self.index < self.bytes.count else { throw self.error("unterminated escape") }
        let code = self.bytes[self.index]
        self.index += 1
        if self.canonical {
            // The canonical form escapes only `"`, `\\`, and characters below U+0020 (`\\u00xx`, lowercase, when they
            // have no short form).
            switch code {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
                UInt8(ascii: "r"), UInt8(ascii: "t"):
                break
            case UInt8(ascii: "u"):
                guard self.index + 4 <= self.bytes.count, self.bytes[self.index] == UInt8(ascii: "0"),
                    self.bytes[self.index + 1] == UInt8(ascii: "0"), self.bytes[self.index + 2] <= UInt8(ascii: "1"),
                    !(UInt8(ascii: "A")...UInt8(ascii: "F")).contains(self.bytes[self.index + 3])
                else { throw self.error("an escape the canonical form does not use") }
                let low = self.bytes[self.index + 3]
                guard
                    self.bytes[self.index + 2] == UInt8(ascii: "1")
                        || ![
                            UInt8(ascii: "8"), UInt8(ascii: "9"), UInt8(ascii: "a"), UInt8(ascii: "c"),
                            UInt8(ascii: "d"),
                        ].contains(low)
                else { throw self.error("an escape the canonical form writes short") }
            default:
                throw self.error("an escape the canonical form does not use")
            }
        }
        switch code {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(code)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try self.parseHex4()
            if (0xD800..<0xDC00).contains(scalar) {
                guard self.index + 1 < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "\\"),
                    self.bytes[self.index + 1] == UInt8(ascii: "u")
                else { throw self.error("unpaired surrogate") }
                self.index += 2
                let low = try self.parseHex4()
                guard (0xDC00..<0xE000).contains(low) else { throw self.error("unpaired surrogate") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            // PostgreSQL cannot store U+0000 in text or jsonb: refuse it here, where the field can still be named.
            guard scalar != 0 else { throw self.error("the NUL character (\\u0000) is not allowed") }
            guard let unicode = Unicode.Scalar(scalar) else { throw self.error("invalid unicode escape") }
            out.append(contentsOf: Array(String(Character(unicode)).utf8))
        default: throw self.error("invalid escape")
        }
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard self.index + 4 <= self.bytes.count else { throw self.error("short unicode escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = self.bytes[self.index]
            self.index += 1
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw self.error("invalid hex digit")
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}

/// An event record's members, read from its canonical bytes in their one order, without building the record as a
/// `JSONValue` object (see `JSONParser.canonicalRecord`).
struct CanonicalRecord {
    var eventID: UUID
    var eventType: String
    var metadata: JSONObject
    var payload: JSONValue
    var position: Int64
    var recordedAt: Timestamp
    var schemaVersion: Int32
    var streamID: String
    var streamType: String
    var streamVersion: Int64
}

extension JSONParser {
    /// Reads an event record that is exactly in canonical form: its ten member names as literals in canonical
    /// order, each value read by the canonical parser. Nil at the first byte that differs; the caller then reads
    /// the bytes with the generic parser, which accepts the same canonical records and names what is wrong with
    /// any other. (Reading the record as a generic object and looking its members up was most of verification's
    /// time.)
    static func canonicalRecord(_ bytes: [UInt8]) -> CanonicalRecord? {
        var reader = Reader(bytes: bytes, canonical: true)
        guard reader.literal("{\"event_id\":"), let eventID = reader.uuid(),
            reader.literal(",\"event_type\":"), let eventType = reader.string(),
            reader.literal(",\"metadata\":"), case .object(let metadata)? = try? reader.parseValue(depth: 1),
            reader.literal(",\"payload\":"), let payload = try? reader.parseValue(depth: 1),
            reader.literal(",\"position\":"), let position = reader.integer(),
            reader.literal(",\"recorded_at\":"), let recordedAt = reader.timestamp(),
            reader.literal(",\"schema_version\":"), let version = reader.integer(),
            let schemaVersion = Int32(exactly: version),
            reader.literal(",\"stream_id\":"), let streamID = reader.string(),
            reader.literal(",\"stream_type\":"), let streamType = reader.string(),
            reader.literal(",\"stream_version\":"), let streamVersion = reader.integer(),
            reader.literal("}"), reader.index == bytes.count
        else { return nil }
        return CanonicalRecord(
            eventID: eventID, eventType: eventType, metadata: metadata, payload: payload, position: position,
            recordedAt: recordedAt, schemaVersion: schemaVersion, streamID: streamID, streamType: streamType,
            streamVersion: streamVersion)
    }
}

extension Reader {
    /// Steps over `text` when the bytes continue with it.
    mutating func literal(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard self.index + count <= self.bytes.count else { return false }
        let matches = self.bytes.withUnsafeBufferPointer { bytes in
            UTF8Bytes.order(
                UnsafeBufferPointer(start: text.utf8Start, count: count),
                UnsafeBufferPointer(rebasing: bytes[self.index..<self.index + count])) == 0
        }
        if matches { self.index += count }
        return matches
    }

    mutating func string() -> String? {
        guard self.index < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "\"") else { return nil }
        return try? self.parseString()
    }

    mutating func integer() -> Int64? {
        guard self.index < self.bytes.count else { return nil }
        return try? self.parseInteger()
    }

    /// A string of exactly `length` bytes with no escape, handed over as its bytes; the index moves past it.
    private mutating func plainString<T>(length: Int, _ read: (UnsafeBufferPointer<UInt8>) -> T?) -> T? {
        let end = self.index + length + 1
        guard end < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "\""),
            self.bytes[end] == UInt8(ascii: "\"")
        else { return nil }
        let value = self.bytes.withUnsafeBufferPointer { read(UnsafeBufferPointer(rebasing: $0[self.index + 1..<end])) }
        if value != nil { self.index = end + 1 }
        return value
    }

    /// The lowercase text form, the only one canonical bytes hold.
    mutating func uuid() -> UUID? { self.plainString(length: 36) { UUID(lowercaseUTF8: $0) } }

    /// The fixed form `Timestamp.rfc3339` writes: parsed field by field with every field in range, it is the only
    /// text of its instant, so it needs no writing again to be known canonical.
    mutating func timestamp() -> Timestamp? { self.plainString(length: 27) { Timestamp(rfc3339UTF8: $0) } }
}
