extension Referral {
    /// The person or household referred. Everything here is personal data (the referral form's fields too), so it
    /// travels as one payload object that can be encrypted, and erased, as a unit.
    public struct ReferredPerson: Sendable, Hashable {
        public enum Kind: String, Sendable, Hashable, CaseIterable, PayloadEnum {
            case person
            case household
        }

        public var kind: Kind
        /// The person's or household's reference in the source's records.
        public var reference: String
        /// The fields of the standard referral form.
        public var formFields: StringFields
        /// The data subject whose key seals these details (see `PersonDetails.subject`).
        public var subject: String?

        public init(kind: Kind, reference: String, formFields: StringFields = [:], subject: String? = nil) {
            self.kind = kind
            self.reference = reference
            self.formFields = formFields
            self.subject = subject
        }
    }

    /// What the source records when it creates a referral; also the payload of `ReferralCreated`.
    public struct Request: Sendable, Hashable {
        /// The source programme or office code.
        public var source: String
        /// The receiving programme or service code.
        public var receiver: String
        public var person: Personal<ReferredPerson>
        public var reason: String
        public var urgency: Urgency
        /// The kind of service asked for, e.g. `health`, `education`, `employment`.
        public var referralType: String
        /// The id of the declined referral this one replaces.
        public var redirectedFrom: String?
        /// The complaint the referral is made from, if any: a sensitive complaint makes it sensitive, and a named
        /// complainant's subject seals its person and texts.
        public var complaintID: String?
        /// Set by the service when the complaint it is made from is sensitive: the same readers only.
        public var sensitive: Bool
        /// The referred person's sex, age group and disability, where recorded.
        public var attributes: PersonAttributes
        public var at: Timestamp

        public init(
            source: String, receiver: String, person: Personal<ReferredPerson>, reason: String, urgency: Urgency,
            referralType: String, redirectedFrom: String? = nil, complaintID: String? = nil, sensitive: Bool = false,
            attributes: PersonAttributes = PersonAttributes(), at: Timestamp
        ) {
            self.complaintID = complaintID
            self.sensitive = sensitive
            self.attributes = attributes
            self.source = source
            self.receiver = receiver
            self.person = person
            self.reason = reason
            self.urgency = urgency
            self.referralType = referralType
            self.redirectedFrom = redirectedFrom
            self.at = at
        }
    }

    /// Counter-referral feedback: what the receiver tells the source.
    public struct CounterReferral: Sendable, Hashable {
        public var outcome: String
        public var servicesGiven: [String]
        public var notes: String?

        public init(outcome: String, servicesGiven: [String], notes: String? = nil) {
            self.outcome = outcome
            self.servicesGiven = servicesGiven
            self.notes = notes
        }
    }

    /// A request to change a referral. `at` is when the action happened; it becomes the event's time.
    public enum Command: Sendable, Hashable {
        case create(Request)
        case acknowledge(at: Timestamp)
        case accept(at: Timestamp)
        /// `explanation` is required when the reason is `other`.
        case decline(reason: DeclineReason, explanation: String?, at: Timestamp)
        /// Ends a declined referral, naming the referral that replaces it; the caller creates that one with
        /// `redirectedFrom`.
        case redirect(newReferralID: String, newReceiver: String, at: Timestamp)
        case startService(at: Timestamp)
        case complete(outcome: ServiceOutcome, at: Timestamp)
        case postFeedback(CounterReferral, at: Timestamp)
        /// The source has read the counter-referral: the loop is closed.
        case acknowledgeFeedback(at: Timestamp)
        /// Withdrawn by the source; not after the service is complete.
        case cancel(reason: String, at: Timestamp)
    }

    /// The names of the commands, as rejections and the state table spell them.
    public enum CommandName: String, Sendable, Hashable, CaseIterable {
        case create
        case acknowledge
        case accept
        case decline
        case redirect
        case startService = "start_service"
        case complete
        case postFeedback = "post_feedback"
        case acknowledgeFeedback = "acknowledge_feedback"
        case cancel
    }

    public static func name(of command: Command) -> CommandName {
        switch command {
        case .create: .create
        case .acknowledge: .acknowledge
        case .accept: .accept
        case .decline: .decline
        case .redirect: .redirect
        case .startService: .startService
        case .complete: .complete
        case .postFeedback: .postFeedback
        case .acknowledgeFeedback: .acknowledgeFeedback
        case .cancel: .cancel
        }
    }
}
