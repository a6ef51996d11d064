import Crypto
import Foundation

/// Free text in events: descriptions, notes, findings, reasons. Clerks type names into it, so in a case that has a
/// named person every free-text member is sealed with that person's data key, as the personal object is: the
/// stored member is then `{"subject": id, "sealed": base64}` instead of a string, and `{"subject": id,
/// "erased": true}` once the key is destroyed. Anonymous cases keep their texts in clear.
public enum FreeText {
    /// The members of each event type that hold free text. A new event type with free text adds one line here.
    public static let members: [String: [String]] = [
        "ComplaintLodged": ["description"],
        "ComplaintTransferred": ["reason"],
        "ComplaintEscalated": ["reason"],
        "ComplaintNoteAdded": ["text"],
        "ComplaintFindingRecorded": ["text"],
        "ComplaintResolved": ["actions_taken"],
        "ComplaintReopened": ["reason"],
        "ComplaintWithdrawn": ["reason"],
        "ComplaintRejectedOutOfScope": ["reason"],
        "AppealLodged": ["grounds"],
        "AppealDecided": ["reasoning"],
        "AppealNoteAdded": ["text"],
        "AppealWithdrawn": ["reason"],
        "ReferralCreated": ["reason"],
        "ReferralDeclined": ["explanation"],
        "ReferralCompleted": ["details"],
        "CounterReferralPosted": ["notes"],
        "ReferralCancelled": ["reason"],
        "ComplaintMessageSent": ["to", "text"],
        "ComplaintMessageDelivered": ["to", "text"],
        "ComplaintMessageFailed": ["to", "text"],
        "ReferralMessageSent": ["to", "text"],
        "ReferralMessageDelivered": ["to", "text"],
        "ReferralMessageFailed": ["to", "text"],
    ]

    /// What the domain holds for a text it cannot open (sealed, read without the key, or erased). The domain never
    /// acts on a text's content; views show the stored form instead (see `FreeText.view`).
    public static let withheld = "(withheld)"

    /// The data subject of a case: the subject its creating event's personal object names (sealed, erased, or
    /// opened with its subject); nil for an anonymous case.
    public static func subject(of events: [RecordedEvent]) -> String? {
        guard let first = events.first, let member = PersonalData.members[first.type],
            let object = first.payload[member]
        else { return nil }
        switch PersonalData.form(of: object) {
        case .sealed(let subject, _), .erased(let subject): return subject
        case .clear: return object["subject"]?.stringValue
        case .malformed: return nil
        }
    }

    /// The data subject of events about to be appended: `known` (the case's), else the one a creating event's clear
    /// personal object names, else `streamID` when the creating event has a personal object (a new case's subject is
    /// its own id).
    public static func subject(of events: [EventData], known: String?, streamID: String) -> String? {
        if let known { return known }
        for event in events {
            guard let member = PersonalData.members[event.type], let object = event.payload[member] else { continue }
            switch PersonalData.form(of: object) {
            case .sealed(let subject, _), .erased(let subject): return subject
            case .clear: return object["subject"]?.stringValue ?? streamID
            case .malformed: return nil
            }
        }
        return nil
    }

    /// A text sealed for `subject`: the personal object's sealed form over `{"text": text}`.
    public static func seal(_ text: String, subject: String, key: SymmetricKey) throws -> JSONValue {
        try PersonalData.seal(.object(["text": .string(text)]), subject: subject, key: key)
    }

    /// The clear text of a sealed text.
    public static func open(_ sealed: [UInt8], subject: String, key: SymmetricKey) throws -> String {
        guard let text = try PersonalData.open(sealed, subject: subject, key: key)["text"]?.stringValue else {
            throw PersonalData.SealError.cannotOpen
        }
        return text
    }

    /// `payload` with each free-text member of `type` passed through `transform` (clear strings and stored forms).
    public static func mapping(
        _ payload: JSONValue, type: String, _ transform: (JSONValue) throws -> JSONValue
    ) rethrows -> JSONValue {
        guard let names = Self.members[type], case .object(var members) = payload else { return payload }
        for name in names {
            if let value = members[name], value != .null { members[name] = try transform(value) }
        }
        return .object(members)
    }
}

extension PayloadReader {
    /// A free-text member: its clear string, or `FreeText.withheld` when it is stored sealed or erased.
    func text(_ key: String) throws(EventPayloadError) -> String {
        guard let text = try self.optionalText(key) else { throw self.error(key, "is missing") }
        return text
    }

    func optionalText(_ key: String) throws(EventPayloadError) -> String? {
        guard let json = self.members[key], json != .null else { return nil }
        if let text = json.stringValue { return text }
        switch PersonalData.form(of: json) {
        case .sealed, .erased: return FreeText.withheld
        case .clear: throw self.error(key, "must be a string, or a sealed or erased text")
        case .malformed(let reason): throw self.error(key, reason)
        }
    }
}
