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
