/// Why a stored event could not be read back as a domain event.
public struct EventPayloadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stored event type.
    public var eventType: String
    /// The payload field at fault (dotted for nested members, e.g. `complainant.phone`), or nil.
    public var field: String?
    public var reason: String

    public init(eventType: String, field: String?, reason: String) {
        self.eventType = eventType
        self.field = field
        self.reason = reason
    }

    public var description: String {
        if let field = self.field { return "\(self.eventType): payload field '\(field)' \(self.reason)" }
        return "\(self.eventType): \(self.reason)"
    }
}

/// A value that can stand in an event payload. One definition per Swift type, so that every event writes and reads
/// a given kind of value the same way.
protocol PayloadValue: Sendable {
    var jsonValue: JSONValue { get }
    init?(jsonValue: JSONValue)
    /// What a stored value must look like, for decoding errors.
    static var expectation: String { get }
}

/// An enum stored as its snake_case raw value.
protocol PayloadEnum: PayloadValue, RawRepresentable<String>, CaseIterable {}

extension PayloadEnum {
    var jsonValue: JSONValue { .string(self.rawValue) }
    init?(jsonValue: JSONValue) {
        guard let text = jsonValue.stringValue, let value = Self(rawValue: text) else { return nil }
        self = value
    }
    static var expectation: String { "must be one of " + Self.allCases.map(\.rawValue).joined(separator: ", ") }
}

extension String: PayloadValue {
    var jsonValue: JSONValue { .string(self) }
    init?(jsonValue: JSONValue) {
        guard let text = jsonValue.stringValue else { return nil }
        self = text
    }
    static var expectation: String { "must be a string" }
}

extension Bool: PayloadValue {
    var jsonValue: JSONValue { .bool(self) }
    init?(jsonValue: JSONValue) {
        guard case .bool(let value) = jsonValue else { return nil }
        self = value
    }
    static var expectation: String { "must be true or false" }
}

extension Int: PayloadValue {
    var jsonValue: JSONValue { .integer(Int64(self)) }
    init?(jsonValue: JSONValue) {
        guard let value = jsonValue.integerValue, let int = Int(exactly: value) else { return nil }
        self = int
    }
    static var expectation: String { "must be an integer" }
}

extension Timestamp: PayloadValue {
    var jsonValue: JSONValue { .string(self.rfc3339) }
    init?(jsonValue: JSONValue) {
        guard let text = jsonValue.stringValue, let value = Timestamp(rfc3339: text) else { return nil }
        self = value
    }
    static var expectation: String { "must be a time like 2026-11-25T09:30:00.000000Z" }
}

extension Array: PayloadValue where Element == String {
    var jsonValue: JSONValue { .array(self.map { .string($0) }) }
    init?(jsonValue: JSONValue) {
        guard case .array(let items) = jsonValue else { return nil }
        let strings = items.compactMap(\.stringValue)
        guard strings.count == items.count else { return nil }
        self = strings
    }
    static var expectation: String { "must be an array of strings" }
}

/// An object of strings whose names are compared exactly (a Swift dictionary would merge `"é"` and `"e\u{301}"`):
/// the fields of a referral form.
public struct StringFields: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    /// Every value is a string.
    public private(set) var object: JSONObject

    public init() { self.object = JSONObject() }

    public init(dictionaryLiteral elements: (String, String)...) {
        self.object = JSONObject(elements.map { ($0.0, JSONValue.string($0.1)) })
    }

    public subscript(key: String) -> String? {
        get { self.object[key]?.stringValue }
        set { self.object[key] = newValue.map(JSONValue.string) }
    }

    public var count: Int { self.object.count }
    public var isEmpty: Bool { self.object.isEmpty }

    /// In canonical order (UTF-16 code units).
    public func makeIterator() -> some IteratorProtocol<(key: String, value: String)> {
        self.object.lazy.map { (key: $0.key, value: $0.value.stringValue ?? "") }.makeIterator()
    }
}

extension StringFields: PayloadValue {
    var jsonValue: JSONValue { .object(self.object) }
    init?(jsonValue: JSONValue) {
        guard case .object(let members) = jsonValue, members.allSatisfy({ $0.value.stringValue != nil }) else {
            return nil
        }
        self.object = members
    }
    static var expectation: String { "must be an object of strings" }
}

/// Builds and reads event payloads: the one place that knows how a payload object is laid out.
enum Payload {
    /// An object of `members`, leaving out those whose value is nil (so an absent optional field is not stored).
    static func object(_ members: KeyValuePairs<String, (any PayloadValue)?>) -> JSONValue {
        var object = JSONObject()
        for (key, value) in members {
            if let value { object[key] = value.jsonValue }
        }
        return .object(object)
    }

    /// Adds nested objects (already built) to an object built by `object(_:)`.
    static func merging(_ base: JSONValue, _ nested: [String: JSONValue?]) -> JSONValue {
        guard case .object(var members) = base else { return base }
        for (key, value) in nested {
            if let value { members[key] = value }
        }
        return .object(members)
    }
}

/// Reads the members of one payload object, turning every mismatch into an `EventPayloadError` that names the
/// event type and the field. Members it is not asked for are ignored, so that adding an optional field does not
/// break older readers.
struct PayloadReader {
    let eventType: String
    let members: JSONObject
    /// Prefix for the field names in errors, e.g. `complainant.` inside the complainant object.
    let path: String

    init(eventType: String, payload: JSONValue, path: String = "") throws(EventPayloadError) {
        guard case .object(let members) = payload else {
            let field = path.isEmpty ? nil : String(path.dropLast())
            throw EventPayloadError(eventType: eventType, field: field, reason: "must be a JSON object")
        }
        self.eventType = eventType
        self.members = members
        self.path = path
    }

    /// Checks the type and version of a stored event and opens its payload.
    static func open<Kind: RawRepresentable<String> & CaseIterable>(
        _ kind: Kind.Type, type: String, schemaVersion: Int32, payload: JSONValue, stream: String
    ) throws(EventPayloadError) -> (Kind, PayloadReader) {
        guard let known = Kind(rawValue: type) else {
            let known = Kind.allCases.map(\.rawValue).joined(separator: ", ")
            throw EventPayloadError(
                eventType: type, field: nil, reason: "is not an event type of a \(stream) stream (known: \(known))")
        }
        guard schemaVersion == 1 else {
            throw EventPayloadError(
                eventType: type, field: nil, reason: "schema version \(schemaVersion) is not supported (known: 1)")
        }
        return (known, try PayloadReader(eventType: type, payload: payload))
    }

    func required<Value: PayloadValue>(
        _ key: String, as type: Value.Type = Value.self
    ) throws(EventPayloadError)
        -> Value
    {
        guard let value = try self.optional(key, as: type) else { throw self.error(key, "is missing") }
        return value
    }

    /// The value of `key`, nil when the member is absent or null.
    func optional<Value: PayloadValue>(
        _ key: String, as type: Value.Type = Value.self
    ) throws(EventPayloadError)
        -> Value?
    {
        guard let json = self.members[key], json != .null else { return nil }
        guard let value = Value(jsonValue: json) else { throw self.error(key, Value.expectation) }
        return value
    }

    /// The nested object `key`, nil when absent or null.
    func optionalObject(_ key: String) throws(EventPayloadError) -> PayloadReader? {
        guard let json = self.members[key], json != .null else { return nil }
        return try PayloadReader(eventType: self.eventType, payload: json, path: self.path + key + ".")
    }

    func object(_ key: String) throws(EventPayloadError) -> PayloadReader {
        guard let reader = try self.optionalObject(key) else { throw self.error(key, "is missing") }
        return reader
    }

    func error(_ key: String, _ reason: String) -> EventPayloadError {
        EventPayloadError(eventType: self.eventType, field: self.path + key, reason: reason)
    }
}
