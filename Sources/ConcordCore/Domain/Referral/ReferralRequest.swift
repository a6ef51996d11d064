extension Referral: CommandRequestDecoding {
    /// The command `name` with the members of `body`, happening at `at`. The body is the payload of the event the
    /// command produces without `at`; for `redirect` that includes `new_referral_id`, unless the server chooses it
    /// (see `command(_:body:at:newReferralID:)`).
    public static func command(
        _ name: CommandName, body: JSONValue, at: Timestamp
    ) throws(CommandRequestError) -> Command {
        try Self.command(name, body: body, at: at, newReferralID: nil)
    }

    public static func command(
        _ name: CommandName, body: JSONValue, at: Timestamp, newCaseID: String
    ) throws(CommandRequestError) -> Command {
        try Self.command(name, body: body, at: at, newReferralID: newCaseID)
    }

    /// As `command(_:body:at:)`, with the id of the referral that replaces a declined one chosen by the server:
    /// when `newReferralID` is given, a `redirect` body holds only `new_receiver` and a `new_referral_id` in it is
    /// refused. Other commands ignore `newReferralID`.
    public static func command(
        _ name: CommandName, body json: JSONValue, at: Timestamp, newReferralID: String?
    ) throws(CommandRequestError) -> Command {
        var body = try RequestBody(json)
        switch name {
        case .create: return try Self.create(&body, at: at)
        case .acknowledge: return try body.finish(.acknowledge(at: at))
        case .accept: return try body.finish(.accept(at: at))
        case .decline:
            let reason = body.required("reason", as: DeclineReason.self)
            let explanation = body.optional("explanation", as: String.self)
            guard let reason, body.isValid else { throw body.error }
            return .decline(reason: reason, explanation: explanation, at: at)
        case .redirect: return try Self.redirect(&body, at: at, newReferralID: newReferralID)
        case .startService: return try body.finish(.startService(at: at))
        case .complete:
            let outcome = body.serviceOutcome()
            guard let outcome, body.isValid else { throw body.error }
            return .complete(outcome: outcome, at: at)
        case .postFeedback: return try Self.postFeedback(&body, at: at)
        case .acknowledgeFeedback: return try body.finish(.acknowledgeFeedback(at: at))
        case .cancel:
            let reason = body.required("reason", as: String.self)
            guard let reason, body.isValid else { throw body.error }
            return .cancel(reason: reason, at: at)
        }
    }

    /// `ReferralCreated` without `at`.
    private static func create(_ body: inout RequestBody, at: Timestamp) throws(CommandRequestError) -> Command {
        let source = body.required("source", as: String.self)
        let receiver = body.required("receiver", as: String.self)
        let person = body.referredPerson()
        let reason = body.required("reason", as: String.self)
        let urgency = body.required("urgency", as: Urgency.self)
        let referralType = body.required("referral_type", as: String.self)
        let redirectedFrom = body.optional("redirected_from", as: String.self)
        let complaintID = body.optional("complaint_id", as: String.self)
        let attributes = body.personAttributes()
        guard let source, let receiver, let person, let reason, let urgency, let referralType, body.isValid
        else { throw body.error }
        return .create(
            Request(
                source: source, receiver: receiver, person: person, reason: reason, urgency: urgency,
                referralType: referralType, redirectedFrom: redirectedFrom, complaintID: complaintID,
                attributes: attributes, at: at))
    }

    private static func redirect(
        _ body: inout RequestBody, at: Timestamp, newReferralID: String?
    ) throws(CommandRequestError) -> Command {
        if newReferralID != nil { body.leaveOut("new_referral_id", because: RequestBody.setByServer) }
        let newID = newReferralID ?? body.required("new_referral_id", as: String.self)
        let newReceiver = body.required("new_receiver", as: String.self)
        guard let newID, let newReceiver, body.isValid else { throw body.error }
        return .redirect(newReferralID: newID, newReceiver: newReceiver, at: at)
    }

    private static func postFeedback(
        _ body: inout RequestBody, at: Timestamp
    ) throws(CommandRequestError) -> Command {
        let outcome = body.required("outcome", as: String.self)
        let servicesGiven = body.required("services_given", as: [String].self)
        let notes = body.optional("notes", as: String.self)
        guard let outcome, let servicesGiven, body.isValid else { throw body.error }
        return .postFeedback(CounterReferral(outcome: outcome, servicesGiven: servicesGiven, notes: notes), at: at)
    }
}

extension Referral.ServiceOutcome {
    /// The `outcome` member of `ReferralCompleted` and of the view (the payload's own reader keeps its copy
    /// private).
    enum Kind: String, CaseIterable, PayloadEnum {
        case delivered
        case notDelivered = "not_delivered"
    }

    var kind: Kind {
        switch self {
        case .delivered: .delivered
        case .notDelivered: .notDelivered
        }
    }
}

extension RequestBody {
    /// `outcome`, with `not_delivered_reason` (required) and `details` (optional) only when it is `not_delivered`.
    mutating func serviceOutcome() -> Referral.ServiceOutcome? {
        let kind = self.required("outcome", as: Referral.ServiceOutcome.Kind.self)
        let reason = self.optional("not_delivered_reason", as: Referral.NotDeliveredReason.self)
        let details = self.optional("details", as: String.self)
        switch (kind, reason) {
        case (.notDelivered, let reason?): return .notDelivered(reason: reason, details: details)
        case (.notDelivered, nil):
            if !self.has("not_delivered_reason") {
                self.problem("not_delivered_reason", "is missing while outcome is not_delivered")
            }
        case (.delivered, _):
            for key in ["not_delivered_reason", "details"] where self.has(key) {
                self.problem(key, "must be left out when outcome is delivered")
            }
        case (nil, _): break
        }
        return kind == .delivered ? .delivered : nil
    }

    /// The `person` object: `kind`, `reference` and `form_fields`.
    mutating func referredPerson() -> Personal<Referral.ReferredPerson>? {
        var person = self.object("person")
        let kind = person?.required("kind", as: Referral.ReferredPerson.Kind.self)
        let reference = person?.required("reference", as: String.self)
        let formFields = person?.required("form_fields", as: StringFields.self)
        self.merge(person)
        guard let kind, let reference, let formFields else { return nil }
        return .clear(Referral.ReferredPerson(kind: kind, reference: reference, formFields: formFields))
    }
}
