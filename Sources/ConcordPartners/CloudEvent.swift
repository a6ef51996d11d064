import ConcordCore
import Foundation

/// The CloudEvents 1.0 form (structured JSON) of a case event, as webhooks deliver it and the event stream sends
/// it. The type is derived from the log's event type: `org.concord.` + the stream type + the event type without
/// its stream's prefix, in snake_case (`ComplaintLodged` → `org.concord.complaint.lodged`,
/// `CounterReferralPosted` → `org.concord.referral.counter_referral_posted`).
public enum CaseCloudEvent {
    public static let typePrefix = "org.concord."
    /// The stream types whose events are delivered: the cases.
    public static let caseStreamTypes = [Complaint.streamType, Appeal.streamType, Referral.streamType]

    /// Every case event's log type, by stream type.
    static let logTypes: [(stream: String, types: [String])] = [
        (Complaint.streamType, Complaint.EventKind.allCases.map(\.rawValue)),
        (Appeal.streamType, Appeal.EventKind.allCases.map(\.rawValue)),
        (Referral.streamType, Referral.EventKind.allCases.map(\.rawValue)),
    ]

    /// Every CloudEvents type Concord sends, in the order of the event catalogue.
    public static let allTypes: [String] = logTypes.flatMap { entry in
        entry.types.map { Self.type(streamType: entry.stream, eventType: $0) }
    }

    /// The CloudEvents type of a case event.
    public static func type(streamType: String, eventType: String) -> String {
        let prefix = streamType.prefix(1).uppercased() + streamType.dropFirst()
        let name = eventType.hasPrefix(prefix) ? String(eventType.dropFirst(prefix.count)) : eventType
        var snake = ""
        for character in name {
            if character.isUppercase, !snake.isEmpty { snake.append("_") }
            snake.append(contentsOf: character.lowercased())
        }
        return Self.typePrefix + streamType + "." + snake
    }

    /// The envelope: `id` the event's id (the same on every retry and replay, so a receiver can drop duplicates),
    /// `source` the case kind's collection, `subject` the case's tracking code, `time` when it was recorded, and
    /// `data` the event as the reader may see it (`content`); `concordposition` the log position.
    public static func envelope(_ event: RecordedEvent, content: JSONValue) -> JSONValue {
        let data: JSONValue = .object([
            "case_id": .string(event.stream.id), "kind": .string(event.stream.type),
            "position": .integer(event.position), "version": .integer(event.streamVersion),
            "type": .string(event.type), "recorded_at": .string(event.recordedAt.rfc3339),
            "actor": event.metadata.actor.map(JSONValue.string) ?? .null,
            "role": event.metadata.role.map(JSONValue.string) ?? .null,
            "content": content,
        ])
        return .object([
            "specversion": "1.0", "id": .string(event.id.uuidString.lowercased()),
            "source": .string("/v1/\(event.stream.type)s"),
            "type": .string(Self.type(streamType: event.stream.type, eventType: event.type)),
            "subject": .string(event.stream.id), "time": .string(event.recordedAt.rfc3339),
            "datacontenttype": "application/json", "concordposition": .integer(event.position), "data": data,
        ])
    }
}
