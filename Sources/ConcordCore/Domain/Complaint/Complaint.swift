/// The complaint (grievance) stream: lodged through a channel, acknowledged, assigned to the responsible programme,
/// resolved with a redress outcome, the complainant told, closed. See `docs/events.md` for the events and the state
/// table.
public enum Complaint: StateMachine {
    public static let streamType = "complaint"

    /// Where a complaint came in.
    public enum Channel: String, Sendable, Hashable, CaseIterable, PayloadEnum {
        case walkIn = "walk_in"
        case hotline
        case sms
        case web
        case mobileUnit = "mobile_unit"
        case letter
        case communityMeeting = "community_meeting"
    }

    /// What a complaint is about.
    public enum Category: String, Sendable, Hashable, CaseIterable, PayloadEnum {
        case targetingEligibility = "targeting_eligibility"
        /// Payment delay or amount.
        case paymentDelay = "payment_delay"
        case staffConduct = "staff_conduct"
        case fraudCorruption = "fraud_corruption"
        case serviceQuality = "service_quality"
        case dataCorrection = "data_correction"
        case exclusion
        case sexualExploitationAbuse = "sexual_exploitation_abuse"
        case other

        /// Categories handled as sensitive whatever the clerk says: they put the complainant at risk.
        public var isAlwaysSensitive: Bool {
            self == .sexualExploitationAbuse || self == .fraudCorruption || self == .staffConduct
        }
    }

    /// The redress outcome of a resolved complaint.
    public enum RedressOutcome: String, Sendable, Hashable, CaseIterable, PayloadEnum {
        case upheld
        case partlyUpheld = "partly_upheld"
        case notUpheld = "not_upheld"
        case noActionPossible = "no_action_possible"
    }

    /// What the complainant said about the outcome when the complaint closed.
    public enum Satisfaction: String, Sendable, Hashable, CaseIterable, PayloadEnum {
        case satisfied
        case notSatisfied = "not_satisfied"
    }

    /// The status of a complaint. Escalating, adding a note and recording a finding keep the status; a transfer
    /// keeps it `assigned`, to the new programme.
    ///
    /// | status                 | allowed commands                                                          |
    /// | ---------------------- | ------------------------------------------------------------------------- |
    /// | (none)                 | lodge                                                                     |
    /// | lodged                 | acknowledge, escalate, add_note, withdraw, reject_out_of_scope            |
    /// | acknowledged           | assign, escalate, add_note, withdraw, reject_out_of_scope                 |
    /// | assigned               | transfer, escalate, add_note, record_finding, resolve, withdraw,          |
    /// |                        | reject_out_of_scope                                                       |
    /// | resolved               | escalate, add_note, notify_complainant, reopen                            |
    /// | complainant_notified   | add_note, close, reopen                                                   |
    /// | closed                 | add_note, reopen                                                          |
    /// | withdrawn              | —                                                                         |
    /// | rejected_out_of_scope  | —                                                                         |
    public enum Status: String, Sendable, Hashable, CaseIterable {
        case lodged
        case acknowledged
        case assigned
        case resolved
        case complainantNotified = "complainant_notified"
        case closed
        case withdrawn
        case rejectedOutOfScope = "rejected_out_of_scope"

        /// The state table above. Why: acknowledgement comes first so that its service level is always
        /// measurable; escalation is possible while the complainant has not been told; once told, the complaint
        /// can only close or reopen; withdrawn and out-of-scope complaints are finished.
        public var allowedCommands: [CommandName] {
            switch self {
            case .lodged: [.acknowledge, .escalate, .addNote, .withdraw, .rejectOutOfScope]
            case .acknowledged: [.assign, .escalate, .addNote, .withdraw, .rejectOutOfScope]
            case .assigned: [.transfer, .escalate, .addNote, .recordFinding, .resolve, .withdraw, .rejectOutOfScope]
            case .resolved: [.escalate, .addNote, .notifyComplainant, .reopen]
            case .complainantNotified: [.addNote, .close, .reopen]
            case .closed: [.addNote, .reopen]
            case .withdrawn, .rejectedOutOfScope: []
            }
        }
    }

    public static func allowedCommands(in state: State?) -> [CommandName] {
        state?.status.allowedCommands ?? [.lodge]
    }

    public static func stateName(_ state: State?) -> String {
        state?.status.rawValue ?? "none"
    }
}
