/// The referral stream: from a source programme or office to a receiving programme or service, acknowledged,
/// accepted or declined, the service delivered, counter-referral feedback posted and acknowledged by the source,
/// which closes the loop. See `docs/events.md` for the events and the state table.
public enum Referral: StateMachine {
    public static let streamType = "referral"

    public enum Urgency: String, Sendable, Hashable, CaseIterable, PayloadEnum {
        case routine
        case priority
        case emergency
    }

    /// Why a receiver declined a referral.
    public enum DeclineReason: String, Sendable, Hashable, CaseIterable, PayloadEnum {
        case notEligible = "not_eligible"
        case lackOfCapacity = "lack_of_capacity"
        case serviceNotAvailable = "service_not_available"
        case duplicate
        case incompleteInformation = "incomplete_information"
        case other
    }

    /// Why an accepted referral ended without the service.
    public enum NotDeliveredReason: String, Sendable, Hashable, CaseIterable, PayloadEnum {
        case clientRefused = "client_refused"
        case lackOfCapacity = "lack_of_capacity"
        case noLongerNeeded = "no_longer_needed"
        case unableToContactClient = "unable_to_contact_client"
        case providerUnreachable = "provider_unreachable"
        case other
    }

    /// How the service ended.
    public enum ServiceOutcome: Sendable, Hashable {
        case delivered
        /// `details` is required when the reason is `other`.
        case notDelivered(reason: NotDeliveredReason, details: String?)
    }

    /// The status of a referral.
    ///
    /// | status           | allowed commands                   |
    /// | ---------------- | ---------------------------------- |
    /// | (none)           | create                             |
    /// | created          | acknowledge, cancel                |
    /// | acknowledged     | accept, decline, cancel            |
    /// | accepted         | start_service, complete, cancel    |
    /// | declined         | redirect, cancel                   |
    /// | redirected       | —                                  |
    /// | in_service       | complete, cancel                   |
    /// | completed        | post_feedback                      |
    /// | feedback_posted  | acknowledge_feedback               |
    /// | loop_closed      | —                                  |
    /// | cancelled        | —                                  |
    public enum Status: String, Sendable, Hashable, CaseIterable {
        case created
        case acknowledged
        case accepted
        case declined
        case redirected
        case inService = "in_service"
        case completed
        case feedbackPosted = "feedback_posted"
        case loopClosed = "loop_closed"
        case cancelled

        /// The state table above. Why: receipt is acknowledged before the answer so that its service level is
        /// measurable; an accepted referral may complete without starting when the service could not be given
        /// (e.g. the client could not be contacted); the source may cancel until the service is complete.
        public var allowedCommands: [CommandName] {
            switch self {
            case .created: [.acknowledge, .cancel]
            case .acknowledged: [.accept, .decline, .cancel]
            case .accepted: [.startService, .complete, .cancel]
            case .declined: [.redirect, .cancel]
            case .inService: [.complete, .cancel]
            case .completed: [.postFeedback]
            case .feedbackPosted: [.acknowledgeFeedback]
            case .redirected, .loopClosed, .cancelled: []
            }
        }
    }

    public static func allowedCommands(in state: State?) -> [CommandName] {
        state?.status.allowedCommands ?? [.create]
    }

    public static func stateName(_ state: State?) -> String {
        state?.status.rawValue ?? "none"
    }
}
