extension Referral: StateViews {
    /// The referral for the source and the receiver: the header (`kind`, `status`, `allowed_commands`),
    /// `loop_closed` (the source acknowledged the counter-referral), who referred to whom, the answer, the service
    /// outcome, the counter-referral feedback (`feedback`: `outcome`, `services_given`, `notes`) and the time of
    /// each step.
    public static func view(_ state: State) -> JSONValue {
        View.merged(
            Self.viewHeader(state), state.attributes.members,
            Payload.object([
                "source": state.source, "receiver": state.receiver, "urgency": state.urgency,
                "referral_type": state.referralType, "redirected_from": state.redirectedFrom,
                "complaint_id": state.complaintID, "sensitive": state.sensitive,
                "redirected_to": state.redirectedTo, "redirected_to_receiver": state.redirectedToReceiver,
                "decline_reason": state.declineReason, "loop_closed": state.loopClosedAt != nil,
            ]),
            Self.outcome(state), Self.times(state))
    }

    private static func outcome(_ state: State) -> JSONValue {
        var reason: NotDeliveredReason? = nil
        var details: String? = nil
        if case .notDelivered(let notDelivered, let text)? = state.serviceOutcome {
            (reason, details) = (notDelivered, text)
        }
        let feedback = state.feedback.map { feedback in
            Payload.object([
                "outcome": feedback.outcome, "services_given": feedback.servicesGiven, "notes": feedback.notes,
            ])
        }
        return Payload.merging(
            Payload.object([
                "service_outcome": state.serviceOutcome?.kind, "not_delivered_reason": reason,
                "not_delivered_details": details,
            ]), ["feedback": feedback])
    }

    private static func times(_ state: State) -> JSONValue {
        Payload.object([
            "created_at": state.createdAt, "acknowledged_at": state.acknowledgedAt, "accepted_at": state.acceptedAt,
            "declined_at": state.declinedAt, "redirected_at": state.redirectedAt,
            "service_started_at": state.serviceStartedAt, "completed_at": state.completedAt,
            "feedback_posted_at": state.feedbackPostedAt, "loop_closed_at": state.loopClosedAt,
            "cancelled_at": state.cancelledAt, "updated_at": state.updatedAt,
        ])
    }

    /// The referral for the person referred: status, `created_at`, `acknowledged_at`, `completed_at`,
    /// `closed_at` (loop closed, redirected or cancelled) and the next step.
    public static func trackingView(_ state: State) -> JSONValue {
        TrackingFacts(
            kind: Self.streamType, status: Self.stateName(state), opened: ("created_at", state.createdAt),
            acknowledgedAt: state.acknowledgedAt, answered: ("completed_at", state.completedAt),
            closedAt: state.loopClosedAt ?? state.redirectedAt ?? state.cancelledAt, nextStep: state.status.nextStep
        ).json
    }

    public static var trackingViewKeys: Set<String> {
        TrackingFacts.keys(opened: "created_at", answered: "completed_at")
    }
}

extension Referral.Status {
    /// What happens next, for the person referred.
    var nextStep: String {
        switch self {
        case .created: "Your referral has been sent and is waiting for the service to receive it."
        case .acknowledged: "The service has received your referral and will answer soon."
        case .accepted: "The service has accepted your referral and will contact you."
        case .declined: "The service could not take your referral. The office that referred you will find another."
        case .redirected: "Your referral was sent to another service. Ask the office for its new tracking code."
        case .inService: "The service is being given to you."
        case .completed: "The service has finished. The office that referred you will be told the result."
        case .feedbackPosted: "The service has reported back to the office that referred you."
        case .loopClosed: "Your referral is complete and closed."
        case .cancelled: "Your referral was cancelled. Contact the office that referred you if you still need help."
        }
    }
}
