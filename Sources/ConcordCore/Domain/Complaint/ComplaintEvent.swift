extension Complaint {
    /// What happened to a complaint. Each case is one event type of the log (see `EventKind`).
    public enum Event: DomainEvent {
        case lodged(Lodgement)
        case acknowledged(at: Timestamp)
        case assigned(programme: String, officer: String?, at: Timestamp)
        case transferred(fromProgramme: String, toProgramme: String, reason: String, at: Timestamp)
        /// `level` is the escalation level reached: 1 after the first escalation.
        case escalated(fromArea: String, toArea: String, level: Int, reason: String, at: Timestamp)
        /// Appended by the service, not a person: the complaint passed `dueAt`, the due time of `step` in its
        /// programme's service levels, and the programme escalates overdue complaints.
        case escalatedForOverdue(
            fromArea: String, toArea: String, level: Int, step: NextStep, dueAt: Timestamp, at: Timestamp)
        case noteAdded(text: String, at: Timestamp)
        case findingRecorded(text: String, at: Timestamp)
        case resolved(outcome: RedressOutcome, actionsTaken: String, at: Timestamp)
        case complainantNotified(method: NotificationMethod, at: Timestamp)
        case closed(satisfaction: Satisfaction?, at: Timestamp)
        /// `opensAppeal`: the complaint had closed with a not-satisfied complainant, so an appeal should be opened.
        case reopened(reason: String, opensAppeal: Bool, at: Timestamp)
        case withdrawn(reason: String?, at: Timestamp)
        case rejectedOutOfScope(redirectTo: String, reason: String?, at: Timestamp)
        /// Appended by the service: what happened to a message it sent about the complaint.
        case delivery(Delivery)
    }

    /// The event types of a complaint stream.
    public enum EventKind: String, Sendable, Hashable, CaseIterable {
        case lodged = "ComplaintLodged"
        case acknowledged = "ComplaintAcknowledged"
        case assigned = "ComplaintAssigned"
        case transferred = "ComplaintTransferred"
        case escalated = "ComplaintEscalated"
        case escalatedForOverdue = "EscalatedForOverdue"
        case noteAdded = "ComplaintNoteAdded"
        case findingRecorded = "ComplaintFindingRecorded"
        case resolved = "ComplaintResolved"
        case complainantNotified = "ComplainantNotified"
        case closed = "ComplaintClosed"
        case reopened = "ComplaintReopened"
        case withdrawn = "ComplaintWithdrawn"
        case rejectedOutOfScope = "ComplaintRejectedOutOfScope"
        case messageSent = "ComplaintMessageSent"
        case messageDelivered = "ComplaintMessageDelivered"
        case messageFailed = "ComplaintMessageFailed"
    }
}

extension Complaint.Event {
    public var kind: Complaint.EventKind {
        switch self {
        case .lodged: .lodged
        case .acknowledged: .acknowledged
        case .assigned: .assigned
        case .transferred: .transferred
        case .escalated: .escalated
        case .escalatedForOverdue: .escalatedForOverdue
        case .noteAdded: .noteAdded
        case .findingRecorded: .findingRecorded
        case .resolved: .resolved
        case .complainantNotified: .complainantNotified
        case .closed: .closed
        case .reopened: .reopened
        case .withdrawn: .withdrawn
        case .rejectedOutOfScope: .rejectedOutOfScope
        case .delivery(let delivery):
            switch delivery.outcome {
            case .sent: .messageSent
            case .delivered: .messageDelivered
            case .failed: .messageFailed
            }
        }
    }

    public var eventType: String { self.kind.rawValue }

    public var at: Timestamp {
        switch self {
        case .lodged(let lodgement): lodgement.at
        case .delivery(let delivery): delivery.at
        case .acknowledged(let at), .assigned(_, _, let at), .transferred(_, _, _, let at),
            .escalated(_, _, _, _, let at), .escalatedForOverdue(_, _, _, _, _, let at), .noteAdded(_, let at),
            .findingRecorded(_, let at),
            .resolved(_, _, let at), .complainantNotified(_, let at), .closed(_, let at), .reopened(_, _, let at),
            .withdrawn(_, let at), .rejectedOutOfScope(_, _, let at):
            at
        }
    }

    public var payload: JSONValue {
        switch self {
        case .lodged(let lodgement): lodgement.payload
        case .delivery(let delivery): delivery.payload
        case .acknowledged(let at): Payload.object(["at": at])
        case .assigned(let programme, let officer, let at):
            Payload.object(["programme": programme, "officer": officer, "at": at])
        case .transferred(let source, let target, let reason, let at):
            Payload.object(["from_programme": source, "to_programme": target, "reason": reason, "at": at])
        case .escalated(let source, let target, let level, let reason, let at):
            Payload.object(["from_area": source, "to_area": target, "level": level, "reason": reason, "at": at])
        case .escalatedForOverdue(let source, let target, let level, let step, let dueAt, let at):
            Payload.object([
                "from_area": source, "to_area": target, "level": level, "step": step, "due_at": dueAt, "at": at,
            ])
        case .noteAdded(let text, let at), .findingRecorded(let text, let at):
            Payload.object(["text": text, "at": at])
        case .resolved(let outcome, let actionsTaken, let at):
            Payload.object(["outcome": outcome, "actions_taken": actionsTaken, "at": at])
        case .complainantNotified(let method, let at): Payload.object(["method": method, "at": at])
        case .closed(let satisfaction, let at): Payload.object(["satisfaction": satisfaction, "at": at])
        case .reopened(let reason, let opensAppeal, let at):
            Payload.object(["reason": reason, "opens_appeal": opensAppeal, "at": at])
        case .withdrawn(let reason, let at): Payload.object(["reason": reason, "at": at])
        case .rejectedOutOfScope(let target, let reason, let at):
            Payload.object(["redirect_to": target, "reason": reason, "at": at])
        }
    }

    public static func decode(type: String, schemaVersion: Int32, payload: JSONValue) throws -> Self {
        let (kind, reader) = try PayloadReader.open(
            Complaint.EventKind.self, type: type, schemaVersion: schemaVersion, payload: payload, stream: "complaint")
        let at = try reader.required("at", as: Timestamp.self)
        switch kind {
        case .lodged: return .lodged(try Complaint.Lodgement(reader: reader, at: at))
        case .messageSent: return .delivery(try Delivery(reader: reader, outcome: .sent, at: at))
        case .messageDelivered: return .delivery(try Delivery(reader: reader, outcome: .delivered, at: at))
        case .messageFailed: return .delivery(try Delivery(reader: reader, outcome: .failed, at: at))
        case .acknowledged: return .acknowledged(at: at)
        case .assigned:
            return .assigned(
                programme: try reader.required("programme"), officer: try reader.optional("officer"), at: at)
        case .transferred:
            return .transferred(
                fromProgramme: try reader.required("from_programme"), toProgramme: try reader.required("to_programme"),
                reason: try reader.text("reason"), at: at)
        case .escalated:
            return .escalated(
                fromArea: try reader.required("from_area"), toArea: try reader.required("to_area"),
                level: try reader.required("level"), reason: try reader.text("reason"), at: at)
        case .escalatedForOverdue:
            return .escalatedForOverdue(
                fromArea: try reader.required("from_area"), toArea: try reader.required("to_area"),
                level: try reader.required("level"), step: try reader.required("step"),
                dueAt: try reader.required("due_at"), at: at)
        case .noteAdded: return .noteAdded(text: try reader.text("text"), at: at)
        case .findingRecorded: return .findingRecorded(text: try reader.text("text"), at: at)
        case .resolved:
            return .resolved(
                outcome: try reader.required("outcome"), actionsTaken: try reader.text("actions_taken"), at: at)
        case .complainantNotified: return .complainantNotified(method: try reader.required("method"), at: at)
        case .closed: return .closed(satisfaction: try reader.optional("satisfaction"), at: at)
        case .reopened:
            return .reopened(
                reason: try reader.text("reason"), opensAppeal: try reader.required("opens_appeal"), at: at)
        case .withdrawn: return .withdrawn(reason: try reader.optionalText("reason"), at: at)
        case .rejectedOutOfScope:
            return .rejectedOutOfScope(
                redirectTo: try reader.required("redirect_to"), reason: try reader.optionalText("reason"), at: at)
        }
    }
}

extension Complaint.Lodgement {
    /// The personal details sit in their own `complainant` object so that they can be encrypted as a unit.
    var payload: JSONValue {
        Payload.merging(
            Payload.object([
                "channel": self.channel, "programme": self.programme, "category": self.category,
                "description": self.description, "area": self.area, "office": self.office,
                "anonymous": self.complainant.isAnonymous, "contact_preference": self.contactPreference,
                "sensitive": self.sensitive, "at": self.at,
            ]), self.attributes.payloadMembers.merging(["complainant": self.complainant.payload]) { $1 })
    }

    init(reader: PayloadReader, at: Timestamp) throws(EventPayloadError) {
        self.init(
            channel: try reader.required("channel"), programme: try reader.optional("programme"),
            category: try reader.required("category"), description: try reader.text("description"),
            area: try reader.required("area"), office: try reader.required("office"),
            complainant: try Identity.read("complainant", from: reader),
            contactPreference: try reader.required("contact_preference"), sensitive: try reader.required("sensitive"),
            attributes: try PersonAttributes(reader: reader), at: at)
    }
}
