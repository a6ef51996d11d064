extension Appeal {
    /// What the events of one appeal add up to. Holds no personal data.
    public struct State: Sendable, Hashable {
        public var status: Status
        public var subject: Subject
        public var programme: String
        public var area: String
        public var office: String
        public var anonymous: Bool
        public var contactPreference: ContactPreference
        /// It follows from a sensitive complaint: read only by the handling programme's focal point.
        public var sensitive: Bool
        public var reviewLevel: ReviewLevel?
        public var reviewer: String?
        public var decision: Decision?
        public var noteCount: Int
        public var notificationMethod: NotificationMethod?
        public var lodgedAt: Timestamp
        public var acknowledgedAt: Timestamp?
        public var assignedAt: Timestamp?
        public var decidedAt: Timestamp?
        /// When the appellant was told: the loop closed.
        public var notifiedAt: Timestamp?
        public var closedAt: Timestamp?
        public var withdrawnAt: Timestamp?
        /// The person's sex, age group and disability, where recorded (not personal data: see `PersonAttributes`).
        public var attributes: PersonAttributes
        /// The time of the latest event.
        public var updatedAt: Timestamp

        init(lodgement: Lodgement) {
            self.attributes = lodgement.attributes
            self.status = .lodged
            self.subject = lodgement.subject
            self.programme = lodgement.programme
            self.area = lodgement.area
            self.office = lodgement.office
            self.anonymous = lodgement.appellant.isAnonymous
            self.contactPreference = lodgement.contactPreference
            self.sensitive = lodgement.sensitive
            self.noteCount = 0
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

extension Appeal.State {
    /// `event` applied to an existing appeal.
    fileprivate mutating func apply(_ event: Appeal.Event) {
        self.updatedAt = event.at
        switch event {
        case .lodged: return
        case .acknowledged(let at):
            self.status = .acknowledged
            self.acknowledgedAt = at
        case .noteAdded: self.noteCount += 1
        case .withdrawn(_, let at):
            self.status = .withdrawn
            self.withdrawnAt = at
        case .assigned(let level, let reviewer, let at):
            self.status = .assigned
            self.reviewLevel = level
            self.reviewer = reviewer
            self.assignedAt = at
        case .decided(let decision, _, let at):
            self.status = .decided
            self.decision = decision
            self.decidedAt = at
        case .appellantNotified(let method, let at):
            self.status = .appellantNotified
            self.notificationMethod = method
            self.notifiedAt = at
        case .closed(let at):
            self.status = .closed
            self.closedAt = at
        }
    }
}
