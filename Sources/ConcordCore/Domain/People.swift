/// The personal details of a complainant or appellant. Every field is optional: people give what they are willing
/// to give. They travel together as one payload object so that they can be sealed, and erased, as a unit.
public struct PersonDetails: Sendable, Hashable {
    public var name: String?
    public var phone: String?
    public var nationalID: String?
    public var address: String?
    /// The data subject whose key seals these details; set by the server (the id of the case that first recorded
    /// them), so that follow-ups (an appeal opened from a complaint) are erased with the original.
    public var subject: String?

    public init(
        name: String? = nil, phone: String? = nil, nationalID: String? = nil, address: String? = nil,
        subject: String? = nil
    ) {
        self.name = name
        self.phone = phone
        self.nationalID = nationalID
        self.address = address
        self.subject = subject
    }

    var isEmpty: Bool { [self.name, self.phone, self.nationalID, self.address].allSatisfy { $0 == nil } }

    var payload: JSONValue {
        Payload.object([
            "name": self.name, "phone": self.phone, "national_id": self.nationalID, "address": self.address,
            "subject": self.subject,
        ])
    }

    init(reader: PayloadReader) throws(EventPayloadError) {
        self.init(
            name: try reader.optional("name"), phone: try reader.optional("phone"),
            nationalID: try reader.optional("national_id"), address: try reader.optional("address"),
            subject: try reader.optional("subject"))
    }
}

/// Who lodged a complaint or an appeal: a named person or someone who stays anonymous.
public enum Identity: Sendable, Hashable {
    case anonymous
    case identified(Personal<PersonDetails>)

    /// An identified person whose details are in clear.
    public static func person(_ details: PersonDetails) -> Identity { .identified(.clear(details)) }

    public var isAnonymous: Bool { self == .anonymous }

    var details: PersonDetails? {
        guard case .identified(let personal) = self else { return nil }
        return personal.clear
    }

    var payload: JSONValue? {
        guard case .identified(let personal) = self else { return nil }
        return personal.payload(\.payload)
    }

    /// Stored as `"anonymous": Bool` beside the payload, plus the personal object under `key` when identified.
    static func read(_ key: String, from reader: PayloadReader) throws(EventPayloadError) -> Identity {
        let anonymous = try reader.required("anonymous", as: Bool.self)
        let details = try Personal.read(key, from: reader) { nested throws(EventPayloadError) in
            try PersonDetails(reader: nested)
        }
        switch (anonymous, details) {
        case (true, nil): return .anonymous
        case (false, let details?): return .identified(details)
        case (true, _?): throw reader.error(key, "must be absent when anonymous is true")
        case (false, nil): throw reader.error(key, "is missing while anonymous is false")
        }
    }
}

/// How a person wants to hear back.
public enum ContactPreference: String, Sendable, Hashable, CaseIterable, PayloadEnum {
    case phone
    case sms
    case inPerson = "in_person"
    case letter
    case none
}

/// How a complainant or appellant was told the outcome.
public enum NotificationMethod: String, Sendable, Hashable, CaseIterable, PayloadEnum {
    case phone
    case sms
    case inPerson = "in_person"
    case letter
    /// In a community meeting (anonymous complainants follow it by tracking code).
    case communityMeeting = "community_meeting"
}

extension CommandCheck {
    /// An identified person gives at least one detail, each given detail says something, and the contact
    /// preference can be honoured with what was given.
    func identity(_ identity: Identity, _ key: String, contact: ContactPreference) throws(Rejection) {
        // Details that are sealed or erased (an appeal opened from a complaint whose subject was erased) were
        // checked when they were recorded.
        if case .identified(.withheld) = identity { return }
        let details = identity.details
        if let details {
            try self.that(!details.isEmpty, key, "an identified person needs a name, phone, national id or address")
            try self.optionalText(details.name, key + ".name")
            try self.optionalText(details.phone, key + ".phone")
            try self.optionalText(details.nationalID, key + ".national_id")
            try self.optionalText(details.address, key + ".address")
        }
        let reachable: Bool =
            switch contact {
            case .phone, .sms: details?.phone != nil
            case .letter: details?.address != nil
            case .inPerson, .none: true
            }
        // A person who gives no name can still be answered: a number alone is enough, sealed and erasable.
        let hint =
            identity.isAnonymous && contact != .letter
            ? " to reply to: send \"anonymous\":false with only \(key).phone, which names nobody and is sealed"
            : ""
        try self.that(
            reachable, "contact_preference",
            "'\(contact.rawValue)' needs the \(contact == .letter ? "address" : "phone")\(hint)")
    }
}
