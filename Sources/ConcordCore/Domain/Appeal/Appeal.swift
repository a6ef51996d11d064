/// The appeal stream: against a programme decision or a complaint's outcome, assigned to a review level, decided,
/// communicated to the appellant, closed. See `docs/events.md` for the events and the state table.
public enum Appeal: StateMachine {
    public static let streamType = "appeal"

    /// What is appealed against.
    public enum Subject: Sendable, Hashable {
        case eligibilityDecision
        case amountDecision
        case suspensionDecision
        /// The outcome of the complaint with this id.
        case complaintOutcome(complaintID: String)
    }

    /// The administrative level that reviews an appeal.
    public enum ReviewLevel: String, Sendable, Hashable, CaseIterable, PayloadEnum {
        case community
        case district
        case province
        case national
    }

    /// The review's decision about the appealed decision.
    public enum Decision: String, Sendable, Hashable, CaseIterable, PayloadEnum {
        /// The appealed decision stands.
        case upheld
        /// The appealed decision is reversed in the appellant's favour.
        case overturned
        case partlyOverturned = "partly_overturned"
    }

    /// The status of an appeal.
    ///
    /// | status              | allowed commands                            |
    /// | ------------------- | ------------------------------------------- |
    /// | (none)              | lodge                                       |
    /// | lodged              | acknowledge, assign, add_note, withdraw     |
    /// | acknowledged        | assign, add_note, withdraw                  |
    /// | assigned            | assign, decide, add_note, withdraw          |
    /// | decided             | notify_appellant, add_note                  |
    /// | appellant_notified  | close, add_note                             |
    /// | closed              | add_note                                    |
    /// | withdrawn           | —                                           |
    public enum Status: String, Sendable, Hashable, CaseIterable {
        case lodged
        case acknowledged
        case assigned
        case decided
        case appellantNotified = "appellant_notified"
        case closed
        case withdrawn

        /// The state table above. An assigned appeal may be reassigned (to another level or reviewer) until decided;
        /// the appellant may withdraw it until then; notes may be added until it is withdrawn.
        public var allowedCommands: [CommandName] {
            switch self {
            case .lodged: [.acknowledge, .assign, .addNote, .withdraw]
            case .acknowledged: [.assign, .addNote, .withdraw]
            case .assigned: [.assign, .decide, .addNote, .withdraw]
            case .decided: [.notifyAppellant, .addNote]
            case .appellantNotified: [.close, .addNote]
            case .closed: [.addNote]
            case .withdrawn: []
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
