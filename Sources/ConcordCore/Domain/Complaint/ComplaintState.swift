extension Complaint {
    /// What the events of one complaint add up to: its status and what the queues, loop status and indicators
    /// need. Holds no personal data.
    public struct State: Sendable, Hashable {
        public var status: Status
        public var channel: Channel
        public var category: Category
        public var sensitive: Bool
        /// The responsible programme; nil until assigned when the complainant did not know it.
        public var programme: String?
        public var officer: String?
        public var office: String
        /// The area where the complaint was lodged.
        public var lodgingArea: String
        /// The area now responsible: the lodging area, or where the last escalation sent it.
        public var area: String
        /// How many levels the complaint has been escalated up.
        public var escalationLevel: Int
        public var anonymous: Bool
        public var contactPreference: ContactPreference
        public var redressOutcome: RedressOutcome?
        public var notificationMethod: NotificationMethod?
        public var satisfaction: Satisfaction?
        /// Where an out-of-scope complaint should go instead.
        public var redirectTo: String?
        /// Set when a complaint closed with a not-satisfied complainant was reopened: an appeal should be opened.
        public var appealRequested: Bool
        public var transferCount: Int
        public var reopenCount: Int
        public var noteCount: Int
        public var findingCount: Int
        public var lodgedAt: Timestamp
        public var acknowledgedAt: Timestamp?
        public var assignedAt: Timestamp?
        public var lastEscalatedAt: Timestamp?
        /// The due time (and its step) that the service last escalated the complaint for: it escalates once per
        /// due time.
        public var overdueEscalation: OverdueEscalation?
        public var resolvedAt: Timestamp?
        /// When the complainant was told: the loop closed.
        public var notifiedAt: Timestamp?
        public var closedAt: Timestamp?
        public var lastReopenedAt: Timestamp?
        public var withdrawnAt: Timestamp?
        public var rejectedAt: Timestamp?
        /// The person's sex, age group and disability, where recorded (not personal data: see `PersonAttributes`).
        public var attributes: PersonAttributes
        /// The time of the latest event: "since when" for the current status.
        public var updatedAt: Timestamp

        init(lodgement: Lodgement) {
            self.attributes = lodgement.attributes
            self.status = .lodged
            self.channel = lodgement.channel
            self.category = lodgement.category
            self.sensitive = lodgement.sensitive
            self.programme = lodgement.programme
            self.officer = nil
            self.office = lodgement.office
            self.lodgingArea = lodgement.area
            self.area = lodgement.area
            self.escalationLevel = 0
            self.anonymous = lodgement.complainant.isAnonymous
            self.contactPreference = lodgement.contactPreference
            self.appealRequested = false
            self.transferCount = 0
            self.reopenCount = 0
            self.noteCount = 0
            self.findingCount = 0
            self.lodgedAt = lodgement.at
            self.updatedAt = lodgement.at
        }
    }

    /// The state after `event`; see `StateMachine.evolve`.
    public static func evolve(_ state: State?, _ event: Event) -> State? {
        guard var state else {
            guard case .lodged(let lodgement) = event else { return nil }
            return State(lodgement: lodgement)
        }
        // A message sent about the case changes nothing in it (nor the time it last changed).
        if case .delivery = event { return state }
        state.updatedAt = event.at
        switch event {
        case .delivery: return state
        case .lodged: return state
        case .acknowledged(let at):
            state.status = .acknowledged
            state.acknowledgedAt = at
        case .assigned(let programme, let officer, let at):
            state.status = .assigned
            state.programme = programme
            state.officer = officer
            state.assignedAt = at
        case .transferred(_, let target, _, _):
            state.programme = target
            state.officer = nil
            state.transferCount += 1
        case .escalated(_, let target, let level, _, let at):
            state.area = target
            state.escalationLevel = level
            state.lastEscalatedAt = at
        case .escalatedForOverdue(_, let target, let level, let step, let dueAt, let at):
            state.area = target
            state.escalationLevel = level
            state.lastEscalatedAt = at
            state.overdueEscalation = OverdueEscalation(step: step, dueAt: dueAt)
        case .noteAdded: state.noteCount += 1
        case .findingRecorded: state.findingCount += 1
        case .resolved(let outcome, _, let at):
            state.status = .resolved
            state.redressOutcome = outcome
            state.resolvedAt = at
        case .complainantNotified(let method, let at):
            state.status = .complainantNotified
            state.notificationMethod = method
            state.notifiedAt = at
        case .closed(let satisfaction, let at):
            state.status = .closed
            state.satisfaction = satisfaction
            state.closedAt = at
        case .reopened(_, let opensAppeal, let at): state.reopen(opensAppeal: opensAppeal, at: at)
        case .withdrawn(_, let at):
            state.status = .withdrawn
            state.withdrawnAt = at
        case .rejectedOutOfScope(let target, _, let at):
            state.status = .rejectedOutOfScope
            state.redirectTo = target
            state.rejectedAt = at
        }
        return state
    }
}

extension Complaint.State {
    /// Back to the programme it was assigned to; the previous resolution stays in the log, not in the state.
    fileprivate mutating func reopen(opensAppeal: Bool, at: Timestamp) {
        self.status = .assigned
        self.redressOutcome = nil
        self.resolvedAt = nil
        self.notificationMethod = nil
        self.notifiedAt = nil
        self.satisfaction = nil
        self.closedAt = nil
        self.reopenCount += 1
        self.lastReopenedAt = at
        self.appealRequested = self.appealRequested || opensAppeal
    }
}
