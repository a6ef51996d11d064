/// Work on another stream that a command's events call for, run by the command pipeline once the command is
/// stored: a complaint reopened after a not-satisfied close opens an appeal; a declined referral that is redirected
/// becomes a new referral, linked to it. Each names the stream it creates, chosen so that running it again (a
/// retry of the request) finds the stream it created instead of creating a second one.
public enum FollowUp: Sendable, Hashable {
    case lodgeAppeal(id: String, Appeal.Lodgement)
    case createReferral(id: String, Referral.Request)

    public var streamID: String {
        switch self {
        case .lodgeAppeal(let id, _), .createReferral(let id, _): id
        }
    }

    /// The member the answer to the command carries about it (the appeal a reopening opened), if any.
    public var answerMember: (name: String, value: String)? {
        switch self {
        case .lodgeAppeal(let id, _): ("appeal_opened", id)
        case .createReferral: nil
        }
    }
}

/// Commands on other streams that a command's events call for.
public protocol HasFollowUps: StateMachine {
    /// The follow-ups once `state` (built by `events`, the stream's whole history) is stored. Running them again
    /// must be harmless: each creates a stream that may already exist.
    static func followUps(of state: State, id: String, events: [Event]) -> [FollowUp]
}

extension Appeal: HasFollowUps {
    public static func followUps(of state: State, id: String, events: [Event]) -> [FollowUp] { [] }
}

extension Referral: HasFollowUps {
    public static func followUps(of state: State, id: String, events: [Event]) -> [FollowUp] {
        guard state.status == .redirected, let newID = state.redirectedTo, let receiver = state.redirectedToReceiver,
            case .created(var request)? = events.first,
            let redirectedAt = events.last(where: { if case .redirected = $0 { true } else { false } })?.at
        else { return [] }
        request.receiver = receiver
        request.redirectedFrom = id
        request.at = redirectedAt
        return [.createReferral(id: newID, request)]
    }
}

extension Complaint: HasFollowUps {
    /// The appeal a reopening opens. Its tracking code is derived from the complaint and the reopening's version,
    /// so a retry finds the appeal it opened.
    public static func followUps(of state: State, id: String, events: [Event]) -> [FollowUp] {
        guard let lodgement = Self.appealOpened(by: events, complaintID: id, state: state) else { return [] }
        var random = SeededGenerator(seed: "\(id)#\(events.count)")
        return [.lodgeAppeal(id: TrackingCode.generate(kind: .appeal, using: &random).text, lodgement)]
    }

    /// The appeal that a reopening opens: when the complaint's latest event reopened it after a not-satisfied
    /// close, an appeal against its outcome, lodged by the same office for the same complainant, with the reason
    /// for reopening as its grounds.
    public static func appealOpened(by events: [Event], complaintID: String, state: State) -> Appeal.Lodgement? {
        guard case .reopened(let reason, true, let at)? = events.last, case .lodged(let lodgement)? = events.first,
            let programme = state.programme
        else { return nil }
        return Appeal.Lodgement(
            subject: .complaintOutcome(complaintID: complaintID), grounds: reason, programme: programme,
            area: state.area, office: state.office, appellant: lodgement.complainant,
            contactPreference: lodgement.contactPreference, sensitive: state.sensitive,
            attributes: lodgement.attributes, at: at)
    }
}
