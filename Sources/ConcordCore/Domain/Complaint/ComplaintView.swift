extension Complaint: StateViews {
    /// The complaint for offices and programmes: the header (`kind`, `status`, `allowed_commands`), `loop_closed`
    /// (the complainant has been told the outcome), where it is, what it is about, its redress outcome and counts,
    /// and the time of each step.
    public static func view(_ state: State) -> JSONValue {
        View.merged(
            Self.viewHeader(state), state.attributes.members,
            Payload.object([
                "channel": state.channel, "category": state.category, "sensitive": state.sensitive,
                "programme": state.programme, "officer": state.officer, "office": state.office,
                "lodging_area": state.lodgingArea, "area": state.area, "escalation_level": state.escalationLevel,
            ]),
            Payload.object([
                "anonymous": state.anonymous, "contact_preference": state.contactPreference,
                "redress_outcome": state.redressOutcome, "notification_method": state.notificationMethod,
                "satisfaction": state.satisfaction, "redirect_to": state.redirectTo,
                "appeal_requested": state.appealRequested, "loop_closed": state.notifiedAt != nil,
            ]),
            Payload.object([
                "transfer_count": state.transferCount, "reopen_count": state.reopenCount,
                "note_count": state.noteCount, "finding_count": state.findingCount,
            ]),
            Self.times(state))
    }

    private static func times(_ state: State) -> JSONValue {
        Payload.object([
            "lodged_at": state.lodgedAt, "acknowledged_at": state.acknowledgedAt, "assigned_at": state.assignedAt,
            "last_escalated_at": state.lastEscalatedAt, "resolved_at": state.resolvedAt,
            "notified_at": state.notifiedAt, "closed_at": state.closedAt, "last_reopened_at": state.lastReopenedAt,
            "withdrawn_at": state.withdrawnAt, "rejected_at": state.rejectedAt, "updated_at": state.updatedAt,
        ])
    }

    /// The complaint for the complainant: status, `lodged_at`, `acknowledged_at`, `resolved_at`, `closed_at`
    /// (closed, withdrawn or rejected as out of scope) and the next step.
    public static func trackingView(_ state: State) -> JSONValue {
        TrackingFacts(
            kind: Self.streamType, status: Self.stateName(state), opened: ("lodged_at", state.lodgedAt),
            acknowledgedAt: state.acknowledgedAt, answered: ("resolved_at", state.resolvedAt),
            closedAt: state.closedAt ?? state.withdrawnAt ?? state.rejectedAt, nextStep: state.status.nextStep
        ).json
    }

    public static var trackingViewKeys: Set<String> {
        TrackingFacts.keys(opened: "lodged_at", answered: "resolved_at")
    }
}

extension Complaint.Status {
    /// What happens next, for the complainant.
    var nextStep: String {
        switch self {
        case .lodged: "Your complaint has been received and will be acknowledged soon."
        case .acknowledged: "Your complaint has been acknowledged and is being sent to the programme responsible."
        case .assigned: "The programme is looking into your complaint."
        case .resolved: "A decision has been made on your complaint. You will be told the outcome soon."
        case .complainantNotified:
            "You have been told the outcome of your complaint. Tell the office if you are not satisfied."
        case .closed: "Your complaint is closed."
        case .withdrawn: "Your complaint was withdrawn and is closed."
        case .rejectedOutOfScope:
            "Your complaint is not handled by these programmes. The office that took it can tell you where to go."
        }
    }
}
