/// One complaint, appeal or referral as the queues, the loop status and the indicators see it: where it is, who
/// must act next and by when, and the times the indicators measure. Built from the state and the reference data
/// alone (pure); holds no personal data. The projections store one row of it per case.
public struct CaseSummary: Sendable, Hashable {
    /// `complaint`, `appeal` or `referral`.
    public var kind: String
    public var id: String
    public var status: String
    /// The handling side: a complaint's or appeal's programme, a referral's receiver.
    public var programme: String?
    /// The lodging side: the office that lodged it, or a referral's source.
    public var office: String
    /// The area now responsible (after escalations); a referral's source office's area.
    public var area: String?
    /// Where it arose: the area it was lodged in.
    public var lodgingArea: String?
    public var category: String?
    public var channel: String?
    /// `routine`, `priority` or `emergency`: a referral's urgency; a sensitive or escalated complaint is `priority`.
    public var priority: String
    public var sensitive: Bool
    public var escalationLevel: Int
    /// The due time the service escalated it for, if it did.
    public var overdueEscalatedDueAt: Timestamp?
    public var openedAt: Timestamp
    /// The time of its latest event (a note counts).
    public var statusSince: Timestamp
    /// `open`, `awaiting_feedback` or `closed` (never `overdue`, which depends on the clock).
    public var loop: LoopStatus
    public var loopSince: Timestamp
    /// Nil once the loop is closed.
    public var pending: Pending?
    // What the indicators measure.
    public var acknowledgedAt: Timestamp?
    /// When acknowledgement was due: lodging plus the acknowledgement days of the service level in force when the
    /// case last changed.
    public var acknowledgeDueAt: Timestamp?
    /// When the complaint was resolved, the appeal decided, the referral completed.
    public var answeredAt: Timestamp?
    public var answerDueAt: Timestamp?
    /// A complaint's redress outcome, an appeal's decision, a referral's `accepted` or `declined`.
    public var outcome: String?
    /// When counter-referral feedback was posted.
    public var feedbackAt: Timestamp?
    public var loopClosedAt: Timestamp?
    /// The person's sex, age group and disability where recorded: the indicators' breakdowns.
    public var attributes = PersonAttributes()
    /// A completed referral's service outcome: `delivered`, or the code of why not (`NotDeliveredReason`). The
    /// indicators count it as the share of successful referrals.
    public var serviceOutcome: String? = nil

    /// The loop status at `now`: `overdue` when not closed and past the next step's due time.
    public func loopStatus(at now: Timestamp) -> LoopStatus {
        guard self.loop != .closed, let due = self.pending?.dueAt, due < now else { return self.loop }
        return .overdue
    }

    /// "counter-referral feedback from HEALTH due 2026-12-01": the missing step, naming the party by `name`.
    public func missingStep(naming name: (Party) -> String) -> String? {
        guard let pending = self.pending else { return nil }
        let due = pending.dueAt.map { " due " + String($0.rfc3339.prefix(10)) } ?? ""
        return "\(pending.step.phrase) from \(name(pending.party))\(due)"
    }

    /// The members of a case's `loop` object in the API.
    public func loopView(at now: Timestamp, naming name: (Party) -> String) -> JSONValue {
        Payload.object([
            "status": self.loopStatus(at: now).rawValue, "since": self.loopSince,
            "next_step": self.pending?.step, "waiting_on": self.pending?.party.code,
            "waiting_on_kind": self.pending?.party.kind.rawValue, "due_at": self.pending?.dueAt,
            "missing_step": self.missingStep(naming: name),
        ])
    }
}

/// A stream kind whose states can be summarised for the projections.
public protocol Summarized: StateMachine {
    static func summary(_ state: State, id: String, catalog: ReferenceCatalog) -> CaseSummary
}

extension Complaint: Summarized {
    public static func summary(_ state: State, id: String, catalog: ReferenceCatalog) -> CaseSummary {
        let level = catalog.serviceLevel(programme: state.programme, category: state.category)
        let (loop, since) = Self.loop(state)
        return CaseSummary(
            kind: Self.streamType, id: id, status: state.status.rawValue, programme: state.programme,
            office: state.office, area: state.area, lodgingArea: state.lodgingArea, category: state.category.rawValue,
            channel: state.channel.rawValue,
            priority: state.sensitive || state.escalationLevel > 0 ? "priority" : "routine",
            sensitive: state.sensitive, escalationLevel: state.escalationLevel,
            overdueEscalatedDueAt: state.overdueEscalation?.dueAt, openedAt: state.lodgedAt,
            statusSince: state.updatedAt, loop: loop, loopSince: since, pending: Self.pending(state, catalog: catalog),
            acknowledgedAt: state.acknowledgedAt,
            acknowledgeDueAt: state.lodgedAt.adding(days: level?.daysToAcknowledge), answeredAt: state.resolvedAt,
            answerDueAt: state.lodgedAt.adding(days: level?.daysToResolve), outcome: state.redressOutcome?.rawValue,
            feedbackAt: nil, loopClosedAt: state.notifiedAt, attributes: state.attributes)
    }

    private static func loop(_ state: State) -> (LoopStatus, Timestamp) {
        switch state.status {
        case .lodged, .acknowledged, .assigned: (.open, state.lastReopenedAt ?? state.lodgedAt)
        case .resolved: (.awaitingFeedback, state.resolvedAt ?? state.updatedAt)
        case .complainantNotified, .closed: (.closed, state.notifiedAt ?? state.updatedAt)
        case .withdrawn: (.closed, state.withdrawnAt ?? state.updatedAt)
        case .rejectedOutOfScope: (.closed, state.rejectedAt ?? state.updatedAt)
        }
    }

    /// What the complaint waits for: acknowledgement and resolution from its programme (or, while no programme is
    /// known, its area's coordinators), then the office tells the complainant.
    public static func pending(_ state: State, catalog: ReferenceCatalog) -> Pending? {
        let level = catalog.serviceLevel(programme: state.programme, category: state.category)
        let handler = state.programme.map { Party(.programme, $0) } ?? Party(.area, state.area)
        switch state.status {
        case .lodged:
            return Pending(.acknowledge, by: handler, dueAt: state.lodgedAt.adding(days: level?.daysToAcknowledge))
        case .acknowledged, .assigned:
            let start = state.lastReopenedAt ?? state.lodgedAt
            return Pending(.resolve, by: handler, dueAt: start.adding(days: level?.daysToResolve))
        case .resolved:
            let resolved = state.resolvedAt ?? state.updatedAt
            return Pending(
                .notify, by: Party(.office, state.office), dueAt: resolved.adding(days: level?.daysToGiveFeedback))
        case .complainantNotified, .closed, .withdrawn, .rejectedOutOfScope:
            return nil
        }
    }

    /// The `EscalatedForOverdue` event the service appends at `now`, if any: when the complaint's programme
    /// escalates overdue complaints, the complaint waits for its programme past the due time, has not been
    /// escalated for that due time yet, and there is a level above its area.
    public static func overdueEscalation(_ state: State, catalog: ReferenceCatalog, now: Timestamp) -> Event? {
        guard let programme = state.programme.flatMap({ catalog.programme($0) }), programme.escalatesWhenOverdue,
            let pending = Self.pending(state, catalog: catalog), pending.party.kind == .programme,
            let dueAt = pending.dueAt, dueAt < now, state.overdueEscalation?.dueAt != dueAt,
            let parent = catalog.levelUp(from: state.area)
        else { return nil }
        return .escalatedForOverdue(
            fromArea: state.area, toArea: parent.code, level: state.escalationLevel + 1, step: pending.step,
            dueAt: dueAt, at: now)
    }
}

extension Appeal: Summarized {
    public static func summary(_ state: State, id: String, catalog: ReferenceCatalog) -> CaseSummary {
        let level = catalog.serviceLevel(programme: state.programme, category: .other)
        let loop: (LoopStatus, Timestamp) =
            switch state.status {
            case .lodged, .acknowledged, .assigned: (.open, state.lodgedAt)
            case .decided: (.awaitingFeedback, state.decidedAt ?? state.updatedAt)
            case .appellantNotified, .closed: (.closed, state.notifiedAt ?? state.updatedAt)
            case .withdrawn: (.closed, state.withdrawnAt ?? state.updatedAt)
            }
        let pending: Pending? =
            switch state.status {
            case .lodged, .acknowledged, .assigned:
                Pending(
                    .decide, by: Party(.programme, state.programme),
                    dueAt: state.lodgedAt.adding(days: level?.daysToResolve))
            case .decided:
                Pending(
                    .notify, by: Party(.office, state.office),
                    dueAt: (state.decidedAt ?? state.updatedAt).adding(days: level?.daysToGiveFeedback))
            case .appellantNotified, .closed, .withdrawn: nil
            }
        return CaseSummary(
            kind: Self.streamType, id: id, status: state.status.rawValue, programme: state.programme,
            office: state.office, area: state.area, lodgingArea: state.area, category: nil, channel: nil,
            priority: state.sensitive ? "priority" : "routine", sensitive: state.sensitive, escalationLevel: 0,
            overdueEscalatedDueAt: nil,
            openedAt: state.lodgedAt, statusSince: state.updatedAt, loop: loop.0, loopSince: loop.1, pending: pending,
            acknowledgedAt: state.acknowledgedAt ?? state.assignedAt, acknowledgeDueAt: nil,
            answeredAt: state.decidedAt,
            answerDueAt: state.lodgedAt.adding(days: level?.daysToResolve), outcome: state.decision?.rawValue,
            feedbackAt: nil, loopClosedAt: state.notifiedAt, attributes: state.attributes)
    }
}

extension Referral: Summarized {
    public static func summary(_ state: State, id: String, catalog: ReferenceCatalog) -> CaseSummary {
        let level = catalog.receivingProgramme(state.receiver)?.serviceLevel(for: .other)
        let feedbackDue = state.createdAt.adding(days: level?.daysToGiveFeedback)
        let receiver = Party(catalog.partyKind(state.receiver), state.receiver)
        let source = Party(catalog.partyKind(state.source), state.source)
        let (loop, since, pending) = Self.loop(state, receiver: receiver, source: source, level: level)
        let outcome: String? =
            state.acceptedAt != nil ? "accepted" : state.declinedAt != nil ? "declined" : nil
        return CaseSummary(
            kind: Self.streamType, id: id, status: state.status.rawValue, programme: state.receiver,
            office: state.source, area: catalog.office(state.source)?.area,
            lodgingArea: catalog.office(state.source)?.area, category: nil, channel: nil,
            priority: state.urgency.rawValue, sensitive: state.sensitive, escalationLevel: 0,
            overdueEscalatedDueAt: nil,
            openedAt: state.createdAt, statusSince: state.updatedAt, loop: loop, loopSince: since, pending: pending,
            acknowledgedAt: state.acknowledgedAt,
            acknowledgeDueAt: state.createdAt.adding(days: level?.daysToAcknowledge), answeredAt: state.completedAt,
            answerDueAt: feedbackDue, outcome: outcome, feedbackAt: state.feedbackPostedAt,
            loopClosedAt: state.loopClosedAt, attributes: state.attributes,
            serviceOutcome: state.serviceOutcome.map(Self.code))
    }

    /// `delivered`, or why the service was not.
    private static func code(_ outcome: Referral.ServiceOutcome) -> String {
        switch outcome {
        case .delivered: "delivered"
        case .notDelivered(let reason, _): reason.rawValue
        }
    }

    /// The receiver acknowledges, answers, serves and gives feedback (all due by the feedback time, acknowledgement
    /// sooner); the source redirects a declined referral and acknowledges the feedback, which closes the loop.
    private static func loop(
        _ state: State, receiver: Party, source: Party, level: ServiceLevel?
    ) -> (LoopStatus, Timestamp, Pending?) {
        let feedbackDue = state.createdAt.adding(days: level?.daysToGiveFeedback)
        switch state.status {
        case .created:
            let due = state.createdAt.adding(days: level?.daysToAcknowledge)
            return (.open, state.createdAt, Pending(.acknowledge, by: receiver, dueAt: due))
        case .acknowledged: return (.open, state.createdAt, Pending(.accept, by: receiver, dueAt: feedbackDue))
        case .accepted, .inService:
            return (.open, state.createdAt, Pending(.deliver, by: receiver, dueAt: feedbackDue))
        case .declined: return (.open, state.createdAt, Pending(.redirect, by: source, dueAt: nil))
        case .completed:
            let since = state.completedAt ?? state.updatedAt
            return (.awaitingFeedback, since, Pending(.giveFeedback, by: receiver, dueAt: feedbackDue))
        case .feedbackPosted:
            let since = state.feedbackPostedAt ?? state.updatedAt
            return (.awaitingFeedback, since, Pending(.acknowledgeFeedback, by: source, dueAt: nil))
        case .loopClosed: return (.closed, state.loopClosedAt ?? state.updatedAt, nil)
        case .cancelled: return (.closed, state.cancelledAt ?? state.updatedAt, nil)
        case .redirected: return (.closed, state.redirectedAt ?? state.updatedAt, nil)
        }
    }
}
