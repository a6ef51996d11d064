extension Appeal {
    /// What happened to an appeal. Each case is one event type of the log (see `EventKind`).
    public enum Event: DomainEvent {
        case lodged(Lodgement)
        case acknowledged(at: Timestamp)
        case noteAdded(text: String, at: Timestamp)
        case withdrawn(reason: String?, at: Timestamp)
        case assigned(level: ReviewLevel, reviewer: String?, at: Timestamp)
        case decided(decision: Decision, reasoning: String, at: Timestamp)
        case appellantNotified(method: NotificationMethod, at: Timestamp)
        case closed(at: Timestamp)
    }

    /// The event types of an appeal stream.
    public enum EventKind: String, Sendable, Hashable, CaseIterable {
        case lodged = "AppealLodged"
        case acknowledged = "AppealAcknowledged"
        case noteAdded = "AppealNoteAdded"
        case withdrawn = "AppealWithdrawn"
        case assigned = "AppealAssigned"
        case decided = "AppealDecided"
        case appellantNotified = "AppellantNotified"
        case closed = "AppealClosed"
    }
}

extension Appeal.Event {
    public var kind: Appeal.EventKind {
        switch self {
        case .lodged: .lodged
        case .acknowledged: .acknowledged
        case .noteAdded: .noteAdded
        case .withdrawn: .withdrawn
        case .assigned: .assigned
        case .decided: .decided
        case .appellantNotified: .appellantNotified
        case .closed: .closed
        }
    }

    public var eventType: String { self.kind.rawValue }

    public var at: Timestamp {
        switch self {
        case .lodged(let lodgement): lodgement.at
        case .acknowledged(let at), .noteAdded(_, let at), .withdrawn(_, let at), .assigned(_, _, let at),
            .decided(_, _, let at), .appellantNotified(_, let at), .closed(let at):
            at
        }
    }

    public var payload: JSONValue {
        switch self {
        case .lodged(let lodgement): lodgement.payload
        case .acknowledged(let at): Payload.object(["at": at])
        case .noteAdded(let text, let at): Payload.object(["text": text, "at": at])
        case .withdrawn(let reason, let at): Payload.object(["reason": reason, "at": at])
        case .assigned(let level, let reviewer, let at):
            Payload.object(["review_level": level, "reviewer": reviewer, "at": at])
        case .decided(let decision, let reasoning, let at):
            Payload.object(["decision": decision, "reasoning": reasoning, "at": at])
        case .appellantNotified(let method, let at): Payload.object(["method": method, "at": at])
        case .closed(let at): Payload.object(["at": at])
        }
    }

    public static func decode(type: String, schemaVersion: Int32, payload: JSONValue) throws -> Self {
        let (kind, reader) = try PayloadReader.open(
            Appeal.EventKind.self, type: type, schemaVersion: schemaVersion, payload: payload, stream: "appeal")
        let at = try reader.required("at", as: Timestamp.self)
        switch kind {
        case .lodged: return .lodged(try Appeal.Lodgement(reader: reader, at: at))
        case .acknowledged: return .acknowledged(at: at)
        case .noteAdded: return .noteAdded(text: try reader.text("text"), at: at)
        case .withdrawn: return .withdrawn(reason: try reader.optionalText("reason"), at: at)
        case .assigned:
            return .assigned(
                level: try reader.required("review_level"), reviewer: try reader.optional("reviewer"), at: at)
        case .decided:
            return .decided(
                decision: try reader.required("decision"), reasoning: try reader.text("reasoning"), at: at)
        case .appellantNotified: return .appellantNotified(method: try reader.required("method"), at: at)
        case .closed: return .closed(at: at)
        }
    }
}

/// The subject is stored as `against` (eligibility, amount, suspension, complaint_outcome) plus `complaint_id`.
private enum AppealAgainst: String, CaseIterable, PayloadEnum {
    case eligibility
    case amount
    case suspension
    case complaintOutcome = "complaint_outcome"
}

extension Appeal.Lodgement {
    /// The personal details sit in their own `appellant` object so that they can be encrypted as a unit.
    var payload: JSONValue {
        let (against, complaintID): (AppealAgainst, String?) =
            switch self.subject {
            case .eligibilityDecision: (.eligibility, nil)
            case .amountDecision: (.amount, nil)
            case .suspensionDecision: (.suspension, nil)
            case .complaintOutcome(let complaintID): (.complaintOutcome, complaintID)
            }
        return Payload.merging(
            Payload.object([
                "against": against, "complaint_id": complaintID, "grounds": self.grounds, "programme": self.programme,
                "area": self.area, "office": self.office, "anonymous": self.appellant.isAnonymous,
                "contact_preference": self.contactPreference, "sensitive": self.sensitive ? true : nil,
                "at": self.at,
            ]), self.attributes.payloadMembers.merging(["appellant": self.appellant.payload]) { $1 })
    }

    init(reader: PayloadReader, at: Timestamp) throws(EventPayloadError) {
        let subject: Appeal.Subject =
            switch try reader.required("against", as: AppealAgainst.self) {
            case .eligibility: .eligibilityDecision
            case .amount: .amountDecision
            case .suspension: .suspensionDecision
            case .complaintOutcome: .complaintOutcome(complaintID: try reader.required("complaint_id"))
            }
        self.init(
            subject: subject, grounds: try reader.text("grounds"), programme: try reader.required("programme"),
            area: try reader.required("area"), office: try reader.required("office"),
            appellant: try Identity.read("appellant", from: reader),
            contactPreference: try reader.required("contact_preference"),
            sensitive: try reader.optional("sensitive") ?? false, attributes: try PersonAttributes(reader: reader),
            at: at)
    }
}
