extension Appeal: CommandRequestDecoding {
    /// The command `name` with the members of `body`, happening at `at`. The body is the payload of the event the
    /// command produces without `at`; `complaint_id` is refused unless `against` is `complaint_outcome`.
    public static func command(
        _ name: CommandName, body json: JSONValue, at: Timestamp
    ) throws(CommandRequestError) -> Command {
        var body = try RequestBody(json)
        switch name {
        case .lodge: return try Self.lodge(&body, at: at)
        case .acknowledge: return try body.finish(.acknowledge(at: at))
        case .addNote:
            let text = body.required("text", as: String.self)
            guard let text, body.isValid else { throw body.error }
            return .addNote(text: text, at: at)
        case .withdraw:
            let reason = body.optional("reason", as: String.self)
            return try body.finish(.withdraw(reason: reason, at: at))
        case .assign:
            let level = body.required("review_level", as: ReviewLevel.self)
            let reviewer = body.optional("reviewer", as: String.self)
            guard let level, body.isValid else { throw body.error }
            return .assign(level: level, reviewer: reviewer, at: at)
        case .decide:
            let decision = body.required("decision", as: Decision.self)
            let reasoning = body.required("reasoning", as: String.self)
            guard let decision, let reasoning, body.isValid else { throw body.error }
            return .decide(decision: decision, reasoning: reasoning, at: at)
        case .notifyAppellant:
            let method = body.required("method", as: NotificationMethod.self)
            guard let method, body.isValid else { throw body.error }
            return .notifyAppellant(method: method, at: at)
        case .close: return try body.finish(.close(at: at))
        }
    }

    /// `AppealLodged` without `at`.
    private static func lodge(_ body: inout RequestBody, at: Timestamp) throws(CommandRequestError) -> Command {
        let subject = body.appealSubject()
        let grounds = body.required("grounds", as: String.self)
        let programme = body.required("programme", as: String.self)
        let area = body.required("area", as: String.self)
        let office = body.required("office", as: String.self)
        let appellant = body.identity("appellant")
        let contact = body.required("contact_preference", as: ContactPreference.self)
        let attributes = body.personAttributes()
        guard let subject, let grounds, let programme, let area, let office, let appellant, let contact, body.isValid
        else { throw body.error }
        return .lodge(
            Lodgement(
                subject: subject, grounds: grounds, programme: programme, area: area, office: office,
                appellant: appellant, contactPreference: contact, attributes: attributes, at: at))
    }
}

extension Appeal.Subject {
    /// The `against` member of the payload and the view (the payload's own reader keeps its copy private).
    enum Against: String, CaseIterable, PayloadEnum {
        case eligibility
        case amount
        case suspension
        case complaintOutcome = "complaint_outcome"
    }

    var against: Against {
        switch self {
        case .eligibilityDecision: .eligibility
        case .amountDecision: .amount
        case .suspensionDecision: .suspension
        case .complaintOutcome: .complaintOutcome
        }
    }

    /// The appealed complaint, for an appeal against a complaint's outcome.
    var complaintID: String? {
        guard case .complaintOutcome(let complaintID) = self else { return nil }
        return complaintID
    }
}

extension RequestBody {
    /// `against`, with `complaint_id` exactly when it is `complaint_outcome`.
    mutating func appealSubject() -> Appeal.Subject? {
        let against = self.required("against", as: Appeal.Subject.Against.self)
        let complaintID = self.optional("complaint_id", as: String.self)
        switch (against, complaintID) {
        case (.eligibility, nil): return .eligibilityDecision
        case (.amount, nil): return .amountDecision
        case (.suspension, nil): return .suspensionDecision
        case (.complaintOutcome, let complaintID?): return .complaintOutcome(complaintID: complaintID)
        case (.complaintOutcome, nil):
            if !self.has("complaint_id") {
                self.problem("complaint_id", "is missing while against is complaint_outcome")
            }
            return nil
        case (_?, _?):
            self.problem("complaint_id", "must be left out unless against is complaint_outcome")
            return nil
        case (nil, _): return nil
        }
    }
}
