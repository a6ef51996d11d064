extension Complaint {
    /// What a front office records when a complaint is lodged; also the payload of `ComplaintLodged`.
    public struct Lodgement: Sendable, Hashable {
        public var channel: Channel
        /// The programme code, or nil when the complainant does not know which programme it is.
        public var programme: String?
        public var category: Category
        public var description: String
        /// The area code where the complaint arose.
        public var area: String
        /// The code of the office that lodged it.
        public var office: String
        public var complainant: Identity
        public var contactPreference: ContactPreference
        /// In a command: the clerk's choice. In the event: the effective value, forced true for the categories
        /// that are always sensitive.
        public var sensitive: Bool
        /// The complainant's sex, age group and disability, where recorded.
        public var attributes: PersonAttributes
        public var at: Timestamp

        public init(
            channel: Channel, programme: String?, category: Category, description: String, area: String,
            office: String, complainant: Identity, contactPreference: ContactPreference, sensitive: Bool = false,
            attributes: PersonAttributes = PersonAttributes(), at: Timestamp
        ) {
            self.attributes = attributes
            self.channel = channel
            self.programme = programme
            self.category = category
            self.description = description
            self.area = area
            self.office = office
            self.complainant = complainant
            self.contactPreference = contactPreference
            self.sensitive = sensitive
            self.at = at
        }
    }

    /// A request to change a complaint. `at` is when the action happened; it becomes the event's time.
    public enum Command: Sendable, Hashable {
        case lodge(Lodgement)
        case acknowledge(at: Timestamp)
        /// Assigns the complaint to the responsible programme, optionally to one officer there.
        case assign(programme: String, officer: String?, at: Timestamp)
        case transfer(toProgramme: String, reason: String, at: Timestamp)
        /// Moves the complaint one administrative level up. The caller names the parent area: the domain does not
        /// know the area tree.
        case escalate(toArea: String, reason: String, at: Timestamp)
        case addNote(text: String, at: Timestamp)
        case recordFinding(text: String, at: Timestamp)
        case resolve(outcome: RedressOutcome, actionsTaken: String, at: Timestamp)
        /// Records that the complainant was told the outcome, how and when: this closes the loop.
        case notifyComplainant(method: NotificationMethod, at: Timestamp)
        case close(satisfaction: Satisfaction?, at: Timestamp)
        /// Sends the complaint back to its programme. From `closed` only while `withinAppealWindow`, which the
        /// caller decides from the programme's service levels.
        case reopen(reason: String, withinAppealWindow: Bool, at: Timestamp)
        case withdraw(reason: String?, at: Timestamp)
        /// Refuses the complaint as outside Concord's programmes, naming the programme or service it belongs to.
        case rejectOutOfScope(redirectTo: String, reason: String?, at: Timestamp)
    }

    /// The names of the commands, as rejections and the state table spell them.
    public enum CommandName: String, Sendable, Hashable, CaseIterable {
        case lodge
        case acknowledge
        case assign
        case transfer
        case escalate
        case addNote = "add_note"
        case recordFinding = "record_finding"
        case resolve
        case notifyComplainant = "notify_complainant"
        case close
        case reopen
        case withdraw
        case rejectOutOfScope = "reject_out_of_scope"
    }

    public static func name(of command: Command) -> CommandName {
        switch command {
        case .lodge: .lodge
        case .acknowledge: .acknowledge
        case .assign: .assign
        case .transfer: .transfer
        case .escalate: .escalate
        case .addNote: .addNote
        case .recordFinding: .recordFinding
        case .resolve: .resolve
        case .notifyComplainant: .notifyComplainant
        case .close: .close
        case .reopen: .reopen
        case .withdraw: .withdraw
        case .rejectOutOfScope: .rejectOutOfScope
        }
    }
}
