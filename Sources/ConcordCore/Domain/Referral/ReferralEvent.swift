extension Referral {
    /// What happened to a referral. Each case is one event type of the log (see `EventKind`).
    public enum Event: DomainEvent {
        case created(Request)
        case acknowledged(at: Timestamp)
        case accepted(at: Timestamp)
        case declined(reason: DeclineReason, explanation: String?, at: Timestamp)
        case redirected(newReferralID: String, newReceiver: String, at: Timestamp)
        case serviceStarted(at: Timestamp)
        case completed(outcome: ServiceOutcome, at: Timestamp)
        case feedbackPosted(CounterReferral, at: Timestamp)
        case feedbackAcknowledged(at: Timestamp)
        case cancelled(reason: String, at: Timestamp)
        /// Appended by the service: what happened to a message it sent about the referral.
        case delivery(Delivery)
    }

    /// The event types of a referral stream.
    public enum EventKind: String, Sendable, Hashable, CaseIterable {
        case created = "ReferralCreated"
        case acknowledged = "ReferralAcknowledged"
        case accepted = "ReferralAccepted"
        case declined = "ReferralDeclined"
        case redirected = "ReferralRedirected"
        case serviceStarted = "ReferralServiceStarted"
        case completed = "ReferralCompleted"
        case feedbackPosted = "CounterReferralPosted"
        case feedbackAcknowledged = "CounterReferralAcknowledged"
        case cancelled = "ReferralCancelled"
        case messageSent = "ReferralMessageSent"
        case messageDelivered = "ReferralMessageDelivered"
        case messageFailed = "ReferralMessageFailed"
    }
}

extension Referral.Event {
    public var kind: Referral.EventKind {
        switch self {
        case .created: .created
        case .acknowledged: .acknowledged
        case .accepted: .accepted
        case .declined: .declined
        case .redirected: .redirected
        case .serviceStarted: .serviceStarted
        case .completed: .completed
        case .feedbackPosted: .feedbackPosted
        case .feedbackAcknowledged: .feedbackAcknowledged
        case .cancelled: .cancelled
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
        case .created(let request): request.at
        case .delivery(let delivery): delivery.at
        case .acknowledged(let at), .accepted(let at), .declined(_, _, let at), .redirected(_, _, let at),
            .serviceStarted(let at), .completed(_, let at), .feedbackPosted(_, let at), .feedbackAcknowledged(let at),
            .cancelled(_, let at):
            at
        }
    }

    public var payload: JSONValue {
        switch self {
        case .created(let request): request.payload
        case .delivery(let delivery): delivery.payload
        case .acknowledged(let at), .accepted(let at), .serviceStarted(let at), .feedbackAcknowledged(let at):
            Payload.object(["at": at])
        case .declined(let reason, let explanation, let at):
            Payload.object(["reason": reason, "explanation": explanation, "at": at])
        case .redirected(let newID, let newReceiver, let at):
            Payload.object(["new_referral_id": newID, "new_receiver": newReceiver, "at": at])
        case .completed(.delivered, let at): Payload.object(["outcome": ServiceOutcomeKind.delivered, "at": at])
        case .completed(.notDelivered(let reason, let details), let at):
            Payload.object([
                "outcome": ServiceOutcomeKind.notDelivered, "not_delivered_reason": reason, "details": details,
                "at": at,
            ])
        case .feedbackPosted(let feedback, let at):
            Payload.object([
                "outcome": feedback.outcome, "services_given": feedback.servicesGiven, "notes": feedback.notes,
                "at": at,
            ])
        case .cancelled(let reason, let at): Payload.object(["reason": reason, "at": at])
        }
    }

    public static func decode(type: String, schemaVersion: Int32, payload: JSONValue) throws -> Self {
        let (kind, reader) = try PayloadReader.open(
            Referral.EventKind.self, type: type, schemaVersion: schemaVersion, payload: payload, stream: "referral")
        let at = try reader.required("at", as: Timestamp.self)
        switch kind {
        case .created: return .created(try Referral.Request(reader: reader, at: at))
        case .messageSent: return .delivery(try Delivery(reader: reader, outcome: .sent, at: at))
        case .messageDelivered: return .delivery(try Delivery(reader: reader, outcome: .delivered, at: at))
        case .messageFailed: return .delivery(try Delivery(reader: reader, outcome: .failed, at: at))
        case .acknowledged: return .acknowledged(at: at)
        case .accepted: return .accepted(at: at)
        case .declined:
            return .declined(
                reason: try reader.required("reason"), explanation: try reader.optionalText("explanation"), at: at)
        case .redirected:
            return .redirected(
                newReferralID: try reader.required("new_referral_id"), newReceiver: try reader.required("new_receiver"),
                at: at)
        case .serviceStarted: return .serviceStarted(at: at)
        case .completed: return .completed(outcome: try Self.serviceOutcome(reader), at: at)
        case .feedbackPosted:
            let feedback = Referral.CounterReferral(
                outcome: try reader.required("outcome"), servicesGiven: try reader.required("services_given"),
                notes: try reader.optionalText("notes"))
            return .feedbackPosted(feedback, at: at)
        case .feedbackAcknowledged: return .feedbackAcknowledged(at: at)
        case .cancelled: return .cancelled(reason: try reader.text("reason"), at: at)
        }
    }

    private static func serviceOutcome(_ reader: PayloadReader) throws(EventPayloadError) -> Referral.ServiceOutcome {
        switch try reader.required("outcome", as: ServiceOutcomeKind.self) {
        case .delivered: .delivered
        case .notDelivered:
            .notDelivered(
                reason: try reader.required("not_delivered_reason"), details: try reader.optionalText("details"))
        }
    }
}

/// The service outcome is stored as `outcome` (delivered, not_delivered) plus `not_delivered_reason` and `details`.
private enum ServiceOutcomeKind: String, CaseIterable, PayloadEnum {
    case delivered
    case notDelivered = "not_delivered"
}

extension Referral.Request {
    /// The person, with the form fields, sits in its own `person` object so that it can be encrypted as a unit.
    var payload: JSONValue {
        let person = self.person.payload { person in
            Payload.object([
                "kind": person.kind, "reference": person.reference, "form_fields": person.formFields,
                "subject": person.subject,
            ])
        }
        return Payload.merging(
            Payload.object([
                "source": self.source, "receiver": self.receiver, "reason": self.reason, "urgency": self.urgency,
                "referral_type": self.referralType, "redirected_from": self.redirectedFrom,
                "complaint_id": self.complaintID, "sensitive": self.sensitive ? true : nil, "at": self.at,
            ]), self.attributes.payloadMembers.merging(["person": person]) { $1 })
    }

    init(reader: PayloadReader, at: Timestamp) throws(EventPayloadError) {
        let person = try Personal.read("person", from: reader) { person throws(EventPayloadError) in
            Referral.ReferredPerson(
                kind: try person.required("kind"), reference: try person.required("reference"),
                formFields: try person.required("form_fields"), subject: try person.optional("subject"))
        }
        guard let person else { throw reader.error("person", "is missing") }
        self.init(
            source: try reader.required("source"), receiver: try reader.required("receiver"), person: person,
            reason: try reader.text("reason"), urgency: try reader.required("urgency"),
            referralType: try reader.required("referral_type"), redirectedFrom: try reader.optional("redirected_from"),
            complaintID: try reader.optional("complaint_id"), sensitive: try reader.optional("sensitive") ?? false,
            attributes: try PersonAttributes(reader: reader), at: at)
    }
}
