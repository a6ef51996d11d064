extension Appeal {
    /// What a front office records when an appeal is lodged; also the payload of `AppealLodged`.
    public struct Lodgement: Sendable, Hashable {
        public var subject: Subject
        public var grounds: String
        /// The programme whose decision, or whose handling of the complaint, is appealed.
        public var programme: String
        public var area: String
        /// The code of the office that lodged it.
        public var office: String
        public var appellant: Identity
        public var contactPreference: ContactPreference
        /// An appeal that follows from a sensitive complaint is sensitive too: the same readers only. Set by the
        /// service (the appeal a reopening opens), never by a request.
        public var sensitive: Bool
        /// The appellant's sex, age group and disability, where recorded.
        public var attributes: PersonAttributes
        public var at: Timestamp

        public init(
            subject: Subject, grounds: String, programme: String, area: String, office: String, appellant: Identity,
            contactPreference: ContactPreference, sensitive: Bool = false,
            attributes: PersonAttributes = PersonAttributes(), at: Timestamp
        ) {
            self.sensitive = sensitive
            self.attributes = attributes
            self.subject = subject
            self.grounds = grounds
            self.programme = programme
            self.area = area
            self.office = office
            self.appellant = appellant
            self.contactPreference = contactPreference
            self.at = at
        }
    }

    /// A request to change an appeal. `at` is when the action happened; it becomes the event's time.
    public enum Command: Sendable, Hashable {
        case lodge(Lodgement)
        case acknowledge(at: Timestamp)
        case addNote(text: String, at: Timestamp)
        case withdraw(reason: String?, at: Timestamp)
        case assign(level: ReviewLevel, reviewer: String?, at: Timestamp)
        case decide(decision: Decision, reasoning: String, at: Timestamp)
        case notifyAppellant(method: NotificationMethod, at: Timestamp)
        case close(at: Timestamp)
    }

    /// The names of the commands, as rejections and the state table spell them.
    public enum CommandName: String, Sendable, Hashable, CaseIterable {
        case lodge
        case acknowledge
        case addNote = "add_note"
        case withdraw
        case assign
        case decide
        case notifyAppellant = "notify_appellant"
        case close
    }

    public static func name(of command: Command) -> CommandName {
        switch command {
        case .lodge: .lodge
        case .acknowledge: .acknowledge
        case .addNote: .addNote
        case .withdraw: .withdraw
        case .assign: .assign
        case .decide: .decide
        case .notifyAppellant: .notifyAppellant
        case .close: .close
        }
    }

    /// The events `command` produces in `state`, or why it is refused: first the state table, then the fields.
    public static func decide(_ command: Command, state: State?) -> Result<[Event], Rejection> {
        Result { () throws(Rejection) -> [Event] in
            let check = try Self.check(command, in: state)
            switch (command, state) {
            case (.lodge(let lodgement), nil):
                try Self.validate(lodgement, check)
                return [.lodged(lodgement)]
            case (_, nil), (.lodge, _): throw check.notAllowed  // the state table already refused these
            case (.acknowledge(let at), _): return [.acknowledged(at: at)]
            case (.addNote(let text, let at), _):
                try check.text(text, "text")
                return [.noteAdded(text: text, at: at)]
            case (.withdraw(let reason, let at), _):
                try check.optionalText(reason, "reason")
                return [.withdrawn(reason: reason, at: at)]
            case (.assign(let level, let reviewer, let at), let state?):
                try check.optionalCode(reviewer, "reviewer")
                try check.that(
                    state.reviewLevel != level || state.reviewer != reviewer, "review_level",
                    "the appeal is already assigned there")
                return [.assigned(level: level, reviewer: reviewer, at: at)]
            case (.decide(let decision, let reasoning, let at), _):
                try check.text(reasoning, "reasoning")
                return [.decided(decision: decision, reasoning: reasoning, at: at)]
            case (.notifyAppellant(let method, let at), _): return [.appellantNotified(method: method, at: at)]
            case (.close(let at), _): return [.closed(at: at)]
            }
        }
    }

    private static func validate(_ lodgement: Lodgement, _ check: CommandCheck) throws(Rejection) {
        if case .complaintOutcome(let complaintID) = lodgement.subject { try check.code(complaintID, "complaint_id") }
        try check.text(lodgement.grounds, "grounds")
        try check.code(lodgement.programme, "programme")
        try check.code(lodgement.area, "area")
        try check.code(lodgement.office, "office")
        try check.identity(lodgement.appellant, "appellant", contact: lodgement.contactPreference)
    }
}
