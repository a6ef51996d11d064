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

    /// The state after `event`, in place; see `StateMachine.evolve`.
    public static func evolve(_ state: inout State?, by event: Event) {
        guard state != nil else {
            if case .lodged(let lodgement) = event { state = State(lodgement: lodgement) }
            return
        }
        state?.apply(event)
    }
}

extension Complaint.State {
    /// `event` applied to an existing complaint.
    fileprivate mutating func apply(_ event: Complaint.Event) {
        // A message sent about the case changes nothing in it (nor the time it last changed).
        if case .delivery = event { return }
        self.updatedAt = event.at
        switch event {
        case .delivery: return
        case .lodged: return
        case .acknowledged(let at):
            self.status = .acknowledged
            self.acknowledgedAt = at
        case .assigned(let programme, let officer, let at):
            self.status = .assigned
            self.programme = programme
            self.officer = officer
            self.assignedAt = at
        case .transferred(_, let target, _, _):
            self.programme = target
            self.officer = nil
            self.transferCount += 1
        case .escalated(_, let target, let level, _, let at):
            self.area = target
            self.escalationLevel = level
            self.lastEscalatedAt = at
        case .escalatedForOverdue(_, let target, let level, let step, let dueAt, let at):
            self.area = target
            self.escalationLevel = level
            self.lastEscalatedAt = at
            self.overdueEscalation = OverdueEscalation(step: step, dueAt: dueAt)
        case .noteAdded: self.noteCount += 1
        case .findingRecorded: self.findingCount += 1
        case .resolved(let outcome, _, let at):
            self.status = .resolved
            self.redressOutcome = outcome
            self.resolvedAt = at
        case .complainantNotified(let method, let at):
            self.status = .complainantNotified
            self.notificationMethod = method
            self.notifiedAt = at
        case .closed(let satisfaction, let at):
            self.status = .closed
            self.satisfaction = satisfaction
            self.closedAt = at
        case .reopened(_, let opensAppeal, let at): self.reopen(opensAppeal: opensAppeal, at: at)
        case .withdrawn(_, let at):
            self.status = .withdrawn
            self.withdrawnAt = at
        case .rejectedOutOfScope(let target, _, let at):
            self.status = .rejectedOutOfScope
            self.redirectTo = target
            self.rejectedAt = at
        }
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
