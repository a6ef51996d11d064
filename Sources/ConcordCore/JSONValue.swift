import Foundation

/// A JSON value restricted to what the event log stores: integers only, in the I-JSON range (so that every value has
/// exactly one canonical byte form, the same in every RFC 8785 implementation: see `docs/event-log.md`). Amounts and
/// measures travel as strings.
///
/// Strings and member names compare by their exact Unicode scalars (bytes), never by Swift's canonical equivalence:
/// `"é"` (U+00E9) and `"e\u{301}"` are two different values and two different keys, as they are in the canonical
/// bytes.
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    /// The integers the log holds: RFC 7493 (I-JSON) §2.2, those an IEEE 754 double holds exactly, so that an RFC 8785
    /// implementation that reads numbers as doubles writes the same digits back.
    public static let integerRange: ClosedRange<Int64> = -9_007_199_254_740_991...9_007_199_254_740_991

    /// An object from a Swift dictionary: for members built in code, whose names are distinct in their bytes.
    public static func object(_ members: [String: JSONValue]) -> JSONValue { .object(JSONObject(members)) }
}

extension JSONValue: Hashable {
    public static func == (left: JSONValue, right: JSONValue) -> Bool {
        switch (left, right) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.string(let a), .string(let b)): a.isExactly(b)
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a == b
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let flag): hasher.combine(flag)
        case .integer(let number): hasher.combine(number)
        case .string(let text): text.hashExactly(into: &hasher)
        case .array(let elements): hasher.combine(elements)
        case .object(let members): hasher.combine(members)
        }
    }
}

extension String {
    /// Equality of the exact Unicode scalars (the UTF-8 bytes), not canonical equivalence as `==` has it.
    /// Compared through the contiguous UTF-8 storage with `memcmp` (not `utf8.elementsEqual`, which walks the views
    /// one unit at a time: the verifier compares millions of these).
    public func isExactly(_ other: String) -> Bool {
        guard self.utf8.count == other.utf8.count else { return false }
        return self.utf8Order(other) == 0
    }

    /// A three-way comparison of the UTF-8 bytes: negative, zero or positive as `self` sorts before, equal to, or
    /// after `other` byte by byte (a shorter prefix first).
    func utf8Order(_ other: String) -> Int {
        var (left, right) = (self, other)
        return left.withUTF8 { a in right.withUTF8 { b in UTF8Bytes.order(a, b) } }
    }

    func hashExactly(into hasher: inout Hasher) {
        var text = self
        text.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// The order of RFC 8785 and of `docs/event-log.md`: as sequences of UTF-16 code units. Computed on the UTF-8
    /// bytes, whose order is the code points' order: the two differ only where a character from U+E000 to U+FFFF
    /// (UTF-8 lead byte EE or EF) meets one from U+10000 up (lead byte F0 to F4, UTF-16 surrogates D800 to DBFF).
    public func precedesInUTF16Order(_ other: String) -> Bool { self.utf16Order(other) < 0 }

    /// A three-way comparison in UTF-16 code unit order (see `precedesInUTF16Order`): negative, zero or positive.
    func utf16Order(_ other: String) -> Int {
        var (left, right) = (self, other)
        return left.withUTF8 { a in right.withUTF8 { b in UTF8Bytes.utf16Order(a, b) } }
    }

    /// Whether any character is at or above U+10000 (four UTF-8 bytes): Concord refuses such keys (see
    /// `docs/event-log.md`), so that the canonical order is also Python's `sort_keys` order.
    public var hasCharacterAboveBMP: Bool { self.utf8.contains { $0 >= 0xF0 } }
}

/// Comparisons of UTF-8 byte runs, the one place strings are ordered or matched by their bytes.
enum UTF8Bytes {
    /// Byte order (a prefix first): negative, zero or positive.
    static func order(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
        let shared = min(a.count, b.count)
        if shared > 0, let x = a.baseAddress, let y = b.baseAddress {
            let result = memcmp(x, y, shared)
            if result != 0 { return Int(result) }
        }
        return a.count - b.count
    }

    /// UTF-16 code unit order, computed on the UTF-8 bytes, whose order is the code points' order: the two differ
    /// only where a character from U+E000 to U+FFFF (UTF-8 lead byte EE or EF) meets one from U+10000 up (lead byte
    /// F0 to F4, UTF-16 surrogates D800 to DBFF).
    static func utf16Order(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Int {
        let shared = min(a.count, b.count)
        var index = 0
        while index < shared && a[index] == b[index] { index += 1 }
        guard index < shared else { return a.count - b.count }
        let (x, y) = (a[index], b[index])
        // Continuation bytes are 80 to BF, so these are lead bytes: each scalar starts here.
        if (0xEE...0xEF).contains(x) && y >= 0xF0 { return 1 }
        if (0xEE...0xEF).contains(y) && x >= 0xF0 { return -1 }
        return Int(x) - Int(y)
    }
}

/// The members of a JSON object: unique keys kept in canonical order (UTF-16 code units), compared exactly.
public struct JSONObject: Sendable, Hashable, RandomAccessCollection, ExpressibleByDictionaryLiteral {
    public typealias Element = (key: String, value: JSONValue)

    /// A member as stored: a struct, not the `Element` tuple, since an array of labelled tuples has its type looked
    /// up at run time whenever one is made (a tenth of verification's time went there).
    struct Member: Sendable {
        var key: String
        var value: JSONValue
    }

    private(set) var members: [Member]

    public init() { self.members = [] }

    /// From members already in canonical order without duplicates (checked by the caller, e.g. the parser).
    init(ordered members: [Member]) { self.members = members }

    /// From any members; a later duplicate (exactly the same key) replaces an earlier one.
    public init(_ members: some Sequence<(String, JSONValue)>) {
        self.members = []
        for (key, value) in members { self[key] = value }
    }

    public init(_ dictionary: [String: JSONValue]) { self.init(dictionary.map { ($0.key, $0.value) }) }

    public init(dictionaryLiteral elements: (String, JSONValue)...) { self.init(elements) }

    public var startIndex: Int { 0 }
    public var endIndex: Int { self.members.count }
    public subscript(position: Int) -> Element { (self.members[position].key, self.members[position].value) }

    public var keys: [String] { self.members.map(\.key) }
    public var values: [JSONValue] { self.members.map(\.value) }

    /// Where `key` is, or where it would go.
    private func slot(of key: String) -> (index: Int, found: Bool) {
        var wanted = key
        return wanted.withUTF8 { wanted in
            // Small objects (events' records, most payloads) are searched in order; large ones by halves. One
            // three-way comparison per member: the domain decoders look up every field this way.
            if self.members.count <= 16 {
                for index in self.members.indices {
                    var name = self.members[index].key
                    let order = name.withUTF8 { UTF8Bytes.utf16Order($0, wanted) }
                    if order >= 0 { return (index, order == 0) }
                }
                return (self.members.count, false)
            }
            var (low, high) = (0, self.members.count)
            while low < high {
                let middle = (low + high) / 2
                var name = self.members[middle].key
                if name.withUTF8({ UTF8Bytes.utf16Order($0, wanted) }) < 0 { low = middle + 1 } else { high = middle }
            }
            guard low < self.members.count else { return (low, false) }
            var name = self.members[low].key
            return (low, name.withUTF8 { UTF8Bytes.order($0, wanted) } == 0)
        }
    }

    public subscript(key: String) -> JSONValue? {
        get {
            // Not `found ? value : nil`: JSONValue is ExpressibleByNilLiteral, so that `nil` would be `.null`.
            let (index, found) = self.slot(of: key)
            guard found else { return nil }
            return self.members[index].value
        }
        set {
            let (index, found) = self.slot(of: key)
            switch (found, newValue) {
            case (true, let value?): self.members[index].value = value
            case (true, nil): self.members.remove(at: index)
            case (false, let value?): self.members.insert(Member(key: key, value: value), at: index)
            case (false, nil): break
            }
        }
    }

    @discardableResult
    public mutating func updateValue(_ value: JSONValue, forKey key: String) -> JSONValue? {
        let old = self[key]
        self[key] = value
        return old
    }

    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSONValue? {
        let old = self[key]
        self[key] = nil
        return old
    }

    /// Adds `other`'s members; where a key is in both, `combine` decides.
    public mutating func merge(_ other: JSONObject, uniquingKeysWith combine: (JSONValue, JSONValue) -> JSONValue) {
        for (key, value) in other { self[key] = self[key].map { combine($0, value) } ?? value }
    }

    public func merging(
        _ other: JSONObject, uniquingKeysWith combine: (JSONValue, JSONValue) -> JSONValue
    ) -> JSONObject {
        var merged = self
        merged.merge(other, uniquingKeysWith: combine)
        return merged
    }

    /// The members that `isIncluded` keeps, still an object (as `Dictionary.filter` gives a dictionary).
    public func filter(_ isIncluded: (Element) throws -> Bool) rethrows -> JSONObject {
        JSONObject(ordered: try self.members.filter { try isIncluded(($0.key, $0.value)) })
    }

    public func mapValues(_ transform: (JSONValue) throws -> JSONValue) rethrows -> JSONObject {
        JSONObject(ordered: try self.members.map { Member(key: $0.key, value: try transform($0.value)) })
    }

    public static func == (left: JSONObject, right: JSONObject) -> Bool {
        left.members.count == right.members.count
            && zip(left.members, right.members).allSatisfy { $0.key.isExactly($1.key) && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.members.count)
        for member in self.members {
            member.key.hashExactly(into: &hasher)
            hasher.combine(member.value)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
    public init(dictionaryLiteral elements: (String, JSONValue)...) { self = .object(JSONObject(elements)) }
}

extension JSONValue {
    /// The member `key` of an object, or nil.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members[key]
    }

    public var stringValue: String? {
        guard case .string(let value) = self else { return nil }
        return value
    }

    public var integerValue: Int64? {
        guard case .integer(let value) = self else { return nil }
        return value
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(JSONObject(value))
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected JSON without fractional numbers")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value):
            try container.encode(Dictionary(value.map { ($0.key, $0.value) }) { _, last in last })
        }
    }
}
