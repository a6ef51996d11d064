/// Commands on other streams that a command's events call for, and how a request chooses ids the server must
/// generate. A declined referral that is redirected becomes a new referral, linked to it: the redirect names the
/// new referral, and the follow-up creates it from the original request.
public protocol HasFollowUps: StateMachine {
    /// The commands to run on other streams once `state` (built by `events`, the stream's whole history) is stored.
    /// Running them again must be harmless: each creates a stream that may already exist.
    static func followUps(of state: State, id: String, events: [Event]) -> [(streamID: String, command: Command)]
}

extension Complaint: HasFollowUps {
    public static func followUps(of state: State, id: String, events: [Event]) -> [(streamID: String, command: Command)]
    {
        []
    }
}

extension Appeal: HasFollowUps {
    public static func followUps(of state: State, id: String, events: [Event]) -> [(streamID: String, command: Command)]
    {
        []
    }
}

extension Referral: HasFollowUps {
    public static func followUps(of state: State, id: String, events: [Event]) -> [(streamID: String, command: Command)]
    {
        guard state.status == .redirected, let newID = state.redirectedTo, let receiver = state.redirectedToReceiver,
            case .created(var request)? = events.first,
            let redirectedAt = events.last(where: { if case .redirected = $0 { true } else { false } })?.at
        else { return [] }
        request.receiver = receiver
        request.redirectedFrom = id
        request.at = redirectedAt
        return [(newID, .create(request))]
    }
}

extension Complaint {
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
            contactPreference: lodgement.contactPreference, at: at)
    }
}
