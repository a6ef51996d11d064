extension Appeal: StateViews {
    /// The appeal for offices and programmes: the header (`kind`, `status`, `allowed_commands`), `loop_closed`
    /// (the appellant has been told the decision), what is appealed, the review, and the time of each step.
    public static func view(_ state: State) -> JSONValue {
        View.merged(
            Self.viewHeader(state), state.attributes.members,
            Payload.object([
                "against": state.subject.against, "complaint_id": state.subject.complaintID,
                "programme": state.programme, "area": state.area, "office": state.office,
                "anonymous": state.anonymous, "contact_preference": state.contactPreference,
                "sensitive": state.sensitive,
            ]),
            Payload.object([
                "note_count": state.noteCount, "review_level": state.reviewLevel, "reviewer": state.reviewer,
                "decision": state.decision,
                "notification_method": state.notificationMethod, "loop_closed": state.notifiedAt != nil,
            ]),
            Payload.object([
                "lodged_at": state.lodgedAt, "acknowledged_at": state.acknowledgedAt, "assigned_at": state.assignedAt,
                "decided_at": state.decidedAt,
                "notified_at": state.notifiedAt, "closed_at": state.closedAt, "withdrawn_at": state.withdrawnAt,
                "updated_at": state.updatedAt,
            ]))
    }

    /// The appeal for the appellant: status, `lodged_at`, `acknowledged_at`, `decided_at`, `closed_at` (or when it
    /// was withdrawn) and the next step.
    public static func trackingView(_ state: State) -> JSONValue {
        TrackingFacts(
            kind: Self.streamType, status: Self.stateName(state), opened: ("lodged_at", state.lodgedAt),
            acknowledgedAt: state.acknowledgedAt, answered: ("decided_at", state.decidedAt),
            closedAt: state.closedAt ?? state.withdrawnAt,
            nextStep: state.status.nextStep
        ).json
    }

    public static var trackingViewKeys: Set<String> {
        TrackingFacts.keys(opened: "lodged_at", answered: "decided_at")
    }
}

extension Appeal.Status {
    /// What happens next, for the appellant.
    var nextStep: String {
        switch self {
        case .lodged: "Your appeal has been received and will be sent for review."
        case .acknowledged: "Your appeal has been acknowledged and will be sent for review."
        case .assigned: "Your appeal is being reviewed."
        case .decided: "A decision has been made on your appeal. You will be told soon."
        case .appellantNotified: "You have been told the decision on your appeal."
        case .closed: "Your appeal is closed."
        case .withdrawn: "Your appeal was withdrawn and is closed."
        }
    }
}
