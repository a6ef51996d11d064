import Foundation

/// A stream: the events of one complaint, appeal, referral or reference record, in order. `type` is the kind of
/// thing (`complaint`, `referral`, ...), `id` names one of them.
public struct StreamName: Sendable, Hashable, CustomStringConvertible {
    public var type: String
    public var id: String

    public init(type: String, id: String) {
        self.type = type
        self.id = id
    }

    public var description: String { "\(self.type)/\(self.id)" }

    /// Exact: two ids that differ in their bytes are two streams (as they are in PostgreSQL), even when Swift's `==`
    /// would call the strings canonically equivalent.
    public static func == (left: StreamName, right: StreamName) -> Bool {
        left.type.isExactly(right.type) && left.id.isExactly(right.id)
    }

    public func hash(into hasher: inout Hasher) {
        self.type.hashExactly(into: &hasher)
        self.id.hashExactly(into: &hasher)
    }
}

/// What an appender expects the stream's current version to be.
public enum ExpectedVersion: Sendable, Hashable {
    /// The stream must not exist yet.
    case noStream
    /// The stream's last event must have this version (1 for the first event).
    case exact(Int64)
    /// No check: append after whatever is there.
    case any

    /// Whether a stream whose current version is `current` (0 when empty) satisfies this expectation.
    public func isSatisfied(byCurrentVersion current: Int64) -> Bool {
        switch self {
        case .noStream: current == 0
        case .exact(let version): current == version
        case .any: true
        }
    }
}

/// Who did it, on whose behalf, and why: stored with every event.
public struct EventMetadata: Sendable, Hashable, Codable {
    public var actor: String?
    /// The signed-in user's name, or the API token's label.
    public var actorName: String?
    /// The API token's owner: a user's login or the system that uses it.
    public var owner: String?
    public var role: String?
    /// The office or programme code the actor acted for.
    public var scope: String?
    public var correlationID: String?
    public var causationID: String?
    public var idempotencyKey: String?
    /// The time the client says the action happened (a mobile unit syncing later), as it sent it.
    public var clientTime: String?

    public init(
        actor: String? = nil, role: String? = nil, scope: String? = nil, correlationID: String? = nil,
        causationID: String? = nil, idempotencyKey: String? = nil, clientTime: String? = nil
    ) {
        self.actor = actor
        self.role = role
        self.scope = scope
        self.correlationID = correlationID
        self.causationID = causationID
        self.idempotencyKey = idempotencyKey
        self.clientTime = clientTime
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case actor, role, scope, owner
        case actorName = "actor_name"
        case correlationID = "correlation_id"
        case causationID = "causation_id"
        case idempotencyKey = "idempotency_key"
        case clientTime = "client_time"
    }

    func value(of key: CodingKeys) -> String? {
        switch key {
        case .actor: self.actor
        case .actorName: self.actorName
        case .owner: self.owner
        case .role: self.role
        case .scope: self.scope
        case .correlationID: self.correlationID
        case .causationID: self.causationID
        case .idempotencyKey: self.idempotencyKey
        case .clientTime: self.clientTime
        }
    }

    /// The names in canonical order (UTF-16 code units), and in the order PostgreSQL's jsonb prints them (shorter
    /// first, then bytes).
    static let canonicalOrder = CodingKeys.allCases.sorted { $0.rawValue.precedesInUTF16Order($1.rawValue) }
    static let jsonbOrder = CodingKeys.allCases.sorted {
        ($0.rawValue.utf8.count, $0.rawValue) < ($1.rawValue.utf8.count, $1.rawValue)
    }

    /// The stored form: absent fields are left out rather than written as null.
    public var jsonValue: JSONValue {
        var members: [JSONObject.Member] = []
        for key in Self.canonicalOrder {
            if let value = self.value(of: key) {
                members.append(JSONObject.Member(key: key.rawValue, value: .string(value)))
            }
        }
        return .object(JSONObject(ordered: members))
    }

    /// The text PostgreSQL prints for the stored form (`JSONBText`), written straight from the fields.
    var jsonbText: [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for key in Self.jsonbOrder {
            guard let value = self.value(of: key) else { continue }
            if out.count > 1 { out.append(contentsOf: [UInt8(ascii: ","), UInt8(ascii: " ")]) }
            CanonicalJSON.writeString(key.rawValue, into: &out)
            out.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
            CanonicalJSON.writeString(value, into: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Whether `text` is exactly `jsonbText`, found without writing it.
    func matchesJSONBText(_ text: [UInt8]) -> Bool {
        text.withUnsafeBufferPointer { text in
            var cursor = JSONBTextCursor(text: text)
            guard cursor.take(UInt8(ascii: "{")) else { return false }
            var first = true
            for key in Self.jsonbOrder {
                guard let value = self.value(of: key) else { continue }
                guard first || cursor.take(", "), cursor.match(key.rawValue), cursor.take(": "), cursor.match(value)
                else { return false }
                first = false
            }
            return cursor.take(UInt8(ascii: "}")) && cursor.atEnd
        }
    }

    public init(jsonValue: JSONValue) {
        self.init()
        guard case .object(let members) = jsonValue else { return }
        // One pass over the members (every event read goes through here), each name matched exactly.
        for index in members.indices {
            let (key, value) = members[index]
            guard case .string(let text) = value,
                let field = Self.names.firstIndex(where: { $0.isExactly(key) })
            else { continue }
            switch CodingKeys.allCases[field] {
            case .actor: self.actor = text
            case .actorName: self.actorName = text
            case .owner: self.owner = text
            case .role: self.role = text
            case .scope: self.scope = text
            case .correlationID: self.correlationID = text
            case .causationID: self.causationID = text
            case .idempotencyKey: self.idempotencyKey = text
            case .clientTime: self.clientTime = text
            }
        }
    }

    private static let names = CodingKeys.allCases.map(\.rawValue)
}

/// An event to append: its position, version and time are given by the log.
public struct EventData: Sendable, Hashable {
    public var id: UUID
    public var type: String
    public var schemaVersion: Int32
    public var payload: JSONValue
    public var metadata: EventMetadata

    public init(
        id: UUID = UUID(), type: String, schemaVersion: Int32 = 1, payload: JSONValue,
        metadata: EventMetadata = EventMetadata()
    ) {
        self.id = id
        self.type = type
        self.schemaVersion = schemaVersion
        self.payload = payload
        self.metadata = metadata
    }
}

/// An event as the log holds it.
public struct RecordedEvent: Sendable, Hashable {
    /// Global position: 1, 2, 3, ... with no holes, in commit order.
    public var position: Int64
    public var stream: StreamName
    /// Version within the stream: 1, 2, 3, ...
    public var streamVersion: Int64
    public var id: UUID
    public var type: String
    public var schemaVersion: Int32
    public var payload: JSONValue
    public var metadata: EventMetadata
    public var recordedAt: Timestamp
    /// SHA-256 over the previous event's hash and this event's canonical bytes.
    public var hash: [UInt8]

    public init(
        position: Int64, stream: StreamName, streamVersion: Int64, id: UUID, type: String, schemaVersion: Int32,
        payload: JSONValue, metadata: EventMetadata, recordedAt: Timestamp, hash: [UInt8]
    ) {
        self.position = position
        self.stream = stream
        self.streamVersion = streamVersion
        self.id = id
        self.type = type
        self.schemaVersion = schemaVersion
        self.payload = payload
        self.metadata = metadata
        self.recordedAt = recordedAt
        self.hash = hash
    }
}
