extension Complaint: CommandRequestDecoding {
    /// The command `name` with the members of `body`, happening at `at`. The body is the payload of the event the
    /// command produces without `at`, except: `transfer` leaves out `from_programme`, `escalate` leaves out
    /// `from_area` and `level` (Concord works them out), and `reopen` takes `reason` and an optional
    /// `within_appeal_window` (default false) instead of `opens_appeal`.
    public static func command(
        _ name: CommandName, body json: JSONValue, at: Timestamp
    ) throws(CommandRequestError) -> Command {
        var body = try RequestBody(json)
        switch name {
        case .lodge: return try Self.lodge(&body, at: at)
        case .acknowledge: return try body.finish(.acknowledge(at: at))
        case .assign: return try Self.assign(&body, at: at)
        case .transfer: return try Self.transfer(&body, at: at)
        case .escalate: return try Self.escalate(&body, at: at)
        case .addNote: return .addNote(text: try body.text(), at: at)
        case .recordFinding: return .recordFinding(text: try body.text(), at: at)
        case .resolve: return try Self.resolve(&body, at: at)
        case .notifyComplainant:
            let method = body.required("method", as: NotificationMethod.self)
            guard let method, body.isValid else { throw body.error }
            return .notifyComplainant(method: method, at: at)
        case .close:
            let satisfaction = body.optional("satisfaction", as: Satisfaction.self)
            return try body.finish(.close(satisfaction: satisfaction, at: at))
        case .reopen: return try Self.reopen(&body, at: at)
        case .withdraw:
            let reason = body.optional("reason", as: String.self)
            return try body.finish(.withdraw(reason: reason, at: at))
        case .rejectOutOfScope: return try Self.rejectOutOfScope(&body, at: at)
        }
    }

    private static func assign(_ body: inout RequestBody, at: Timestamp) throws(CommandRequestError) -> Command {
        let programme = body.required("programme", as: String.self)
        let officer = body.optional("officer", as: String.self)
        guard let programme, body.isValid else { throw body.error }
        return .assign(programme: programme, officer: officer, at: at)
    }

    private static func transfer(_ body: inout RequestBody, at: Timestamp) throws(CommandRequestError) -> Command {
        body.leaveOut("from_programme", because: RequestBody.workedOut)
        let target = body.required("to_programme", as: String.self)
        let reason = body.required("reason", as: String.self)
        guard let target, let reason, body.isValid else { throw body.error }
        return .transfer(toProgramme: target, reason: reason, at: at)
    }

    private static func escalate(_ body: inout RequestBody, at: Timestamp) throws(CommandRequestError) -> Command {
        body.leaveOut("from_area", because: RequestBody.workedOut)
        body.leaveOut("level", because: RequestBody.workedOut)
        let target = body.required("to_area", as: String.self)
        let reason = body.required("reason", as: String.self)
        guard let target, let reason, body.isValid else { throw body.error }
        return .escalate(toArea: target, reason: reason, at: at)
    }

    private static func resolve(_ body: inout RequestBody, at: Timestamp) throws(CommandRequestError) -> Command {
        let outcome = body.required("outcome", as: RedressOutcome.self)
        let actionsTaken = body.required("actions_taken", as: String.self)
        guard let outcome, let actionsTaken, body.isValid else { throw body.error }
        return .resolve(outcome: outcome, actionsTaken: actionsTaken, at: at)
    }

    private static func reopen(_ body: inout RequestBody, at: Timestamp) throws(CommandRequestError) -> Command {
        body.leaveOut("opens_appeal", because: RequestBody.workedOut)
        let reason = body.required("reason", as: String.self)
        let withinWindow = body.optional("within_appeal_window", as: Bool.self) ?? false
        guard let reason, body.isValid else { throw body.error }
        return .reopen(reason: reason, withinAppealWindow: withinWindow, at: at)
    }

    private static func rejectOutOfScope(
        _ body: inout RequestBody, at: Timestamp
    ) throws(CommandRequestError) -> Command {
        let target = body.required("redirect_to", as: String.self)
        let reason = body.optional("reason", as: String.self)
        guard let target, body.isValid else { throw body.error }
        return .rejectOutOfScope(redirectTo: target, reason: reason, at: at)
    }

    /// `ComplaintLodged` without `at`; `sensitive` is the clerk's choice, which `decide` may force to true.
    private static func lodge(_ body: inout RequestBody, at: Timestamp) throws(CommandRequestError) -> Command {
        let channel = body.required("channel", as: Channel.self)
        let programme = body.optional("programme", as: String.self)
        let category = body.required("category", as: Category.self)
        let description = body.required("description", as: String.self)
        let area = body.required("area", as: String.self)
        let office = body.required("office", as: String.self)
        let complainant = body.identity("complainant")
        let contact = body.required("contact_preference", as: ContactPreference.self)
        let sensitive = body.required("sensitive", as: Bool.self)
        let attributes = body.personAttributes()
        guard let channel, let category, let description, let area, let office, let complainant, let contact,
            let sensitive, body.isValid
        else { throw body.error }
        return .lodge(
            Lodgement(
                channel: channel, programme: programme, category: category, description: description, area: area,
                office: office, complainant: complainant, contactPreference: contact, sensitive: sensitive,
                attributes: attributes, at: at))
    }
}

extension RequestBody {
    /// The only member of a body that is one required free text `text` (notes, findings).
    mutating func text() throws(CommandRequestError) -> String {
        let text = self.required("text", as: String.self)
        guard let text, self.isValid else { throw self.error }
        return text
    }
}
