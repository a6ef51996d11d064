extension Referral {
    /// What the events of one referral add up to. Holds no personal data.
    public struct State: Sendable, Hashable {
        public var status: Status
        public var source: String
        public var receiver: String
        public var urgency: Urgency
        public var referralType: String
        public var redirectedFrom: String?
        /// The complaint it was made from, and whether that complaint is sensitive (then so is the referral).
        public var complaintID: String?
        public var sensitive: Bool
        /// The referral that replaced this one after it was declined, and its receiver.
        public var redirectedTo: String?
        public var redirectedToReceiver: String?
        public var declineReason: DeclineReason?
        public var serviceOutcome: ServiceOutcome?
        public var feedback: CounterReferral?
        public var createdAt: Timestamp
        public var acknowledgedAt: Timestamp?
        public var acceptedAt: Timestamp?
        public var declinedAt: Timestamp?
        public var redirectedAt: Timestamp?
        public var serviceStartedAt: Timestamp?
        public var completedAt: Timestamp?
        public var feedbackPostedAt: Timestamp?
        /// When the source acknowledged the counter-referral.
        public var loopClosedAt: Timestamp?
        public var cancelledAt: Timestamp?
        /// The person's sex, age group and disability, where recorded (not personal data: see `PersonAttributes`).
        public var attributes: PersonAttributes
        /// The time of the latest event.
        public var updatedAt: Timestamp

        init(request: Request) {
            self.attributes = request.attributes
            self.status = .created
            self.source = request.source
            self.receiver = request.receiver
            self.urgency = request.urgency
            self.referralType = request.referralType
            self.redirectedFrom = request.redirectedFrom
            self.complaintID = request.complaintID
            self.sensitive = request.sensitive
            self.createdAt = request.at
            self.updatedAt = request.at
        }
    }

    /// The state after `event`, in place; see `StateMachine.evolve`.
    public static func evolve(_ state: inout State?, by event: Event) {
        guard state != nil else {
            if case .created(let request) = event { state = State(request: request) }
            return
        }
        state?.apply(event)
    }
}

extension Referral.State {
    /// `event` applied to an existing referral.
    fileprivate mutating func apply(_ event: Referral.Event) {
        // A message sent about the case changes nothing in it (nor the time it last changed).
        if case .delivery = event { return }
        self.updatedAt = event.at
        switch event {
        case .delivery: return
        case .created: return
        case .acknowledged(let at): (self.status, self.acknowledgedAt) = (.acknowledged, at)
        case .accepted(let at): (self.status, self.acceptedAt) = (.accepted, at)
        case .declined(let reason, _, let at):
            (self.status, self.declineReason, self.declinedAt) = (.declined, reason, at)
        case .redirected(let newID, let newReceiver, let at):
            (self.status, self.redirectedAt) = (.redirected, at)
            (self.redirectedTo, self.redirectedToReceiver) = (newID, newReceiver)
        case .serviceStarted(let at): (self.status, self.serviceStartedAt) = (.inService, at)
        case .completed(let outcome, let at):
            (self.status, self.serviceOutcome, self.completedAt) = (.completed, outcome, at)
        case .feedbackPosted(let feedback, let at):
            (self.status, self.feedback, self.feedbackPostedAt) = (.feedbackPosted, feedback, at)
        case .feedbackAcknowledged(let at): (self.status, self.loopClosedAt) = (.loopClosed, at)
        case .cancelled(_, let at): (self.status, self.cancelledAt) = (.cancelled, at)
        }
    }
}
