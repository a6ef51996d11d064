import ConcordCore
import Testing

/// Shared test helpers for the complaint, appeal and referral state machines.
enum Fixture {
    static let base = Timestamp(microsecondsSinceEpoch: 1_795_600_000_000_000)

    /// `minutes` after a fixed instant.
    static func time(_ minutes: Int64) -> Timestamp {
        Timestamp(microsecondsSinceEpoch: Self.base.microsecondsSinceEpoch + minutes * 60_000_000)
    }

    static let amina = PersonDetails(
        name: "Amina Diallo", phone: "+221 77 000 00 00", nationalID: "SN-123", address: nil)

    static func complaint(
        category: Complaint.Category = .paymentDelay, sensitive: Bool = false, programme: String? = nil,
        complainant: Identity = .person(Fixture.amina), contact: ContactPreference = .sms,
        description: String = "The March payment has not arrived."
    ) -> Complaint.Lodgement {
        Complaint.Lodgement(
            channel: .walkIn, programme: programme, category: category, description: description, area: "D-01",
            office: "OFF-001", complainant: complainant, contactPreference: contact, sensitive: sensitive,
            at: Self.time(0))
    }

    static func appeal(subject: Appeal.Subject = .complaintOutcome(complaintID: "c-0001")) -> Appeal.Lodgement {
        Appeal.Lodgement(
            subject: subject, grounds: "The household was wrongly scored.", programme: "CCT", area: "D-01",
            office: "OFF-001", appellant: .anonymous, contactPreference: .inPerson, at: Self.time(0))
    }

    static func referral(redirectedFrom: String? = nil, receiver: String = "HEALTH") -> Referral.Request {
        Referral.Request(
            source: "CCT", receiver: receiver,
            person: .clear(Referral.ReferredPerson(kind: .household, reference: "HH-42", formFields: ["members": "5"])),
            reason: "Child needs a nutrition assessment.", urgency: .priority, referralType: "health",
            redirectedFrom: redirectedFrom, at: Self.time(0))
    }
}

extension StateMachine {
    /// Decides and evolves `commands` in order; throws the first rejection.
    static func run(_ commands: [Command], from start: State? = nil) throws -> (state: State?, events: [Event]) {
        var state = start
        var events: [Event] = []
        for command in commands {
            let produced = try Self.decide(command, state: state).get()
            events += produced
            state = produced.reduce(state, Self.evolve)
        }
        return (state, events)
    }

    /// The rejection of `command` in `state`, or nil when it is accepted.
    static func rejection(_ command: Command, in state: State?) -> Rejection? {
        guard case .failure(let rejection) = Self.decide(command, state: state) else { return nil }
        return rejection
    }
}

extension DomainEvent {
    /// The event after a trip through the log's shape and canonical bytes.
    func roundTripped() throws -> Self {
        let data = self.eventData()
        let bytes = CanonicalJSON.encode(data.payload)
        let parsed = try JSONParser.parse(bytes)
        return try Self.decode(type: data.type, schemaVersion: data.schemaVersion, payload: parsed)
    }
}

/// The state tables of docs/events.md, copied by hand: what each status allows. The machines' own
/// `allowedCommands` is what is under test, so it must not be its own oracle.
enum StateTable {
    static let rows: [String: [String: [String]]] = [
        "complaint": [
            "none": ["lodge"],
            "lodged": ["acknowledge", "escalate", "add_note", "withdraw", "reject_out_of_scope"],
            "acknowledged": ["assign", "escalate", "add_note", "withdraw", "reject_out_of_scope"],
            "assigned": [
                "transfer", "escalate", "add_note", "record_finding", "resolve", "withdraw", "reject_out_of_scope",
            ],
            "resolved": ["escalate", "add_note", "notify_complainant", "reopen"],
            "complainant_notified": ["add_note", "close", "reopen"],
            "closed": ["add_note", "reopen"],
            "withdrawn": [],
            "rejected_out_of_scope": [],
        ],
        "appeal": [
            "none": ["lodge"],
            "lodged": ["acknowledge", "assign", "add_note", "withdraw"],
            "acknowledged": ["assign", "add_note", "withdraw"],
            "assigned": ["assign", "decide", "add_note", "withdraw"],
            "decided": ["notify_appellant", "add_note"],
            "appellant_notified": ["close", "add_note"],
            "closed": ["add_note"],
            "withdrawn": [],
        ],
        "referral": [
            "none": ["create"],
            "created": ["acknowledge", "cancel"],
            "acknowledged": ["accept", "decline", "cancel"],
            "accepted": ["start_service", "complete", "cancel"],
            "declined": ["redirect", "cancel"],
            "redirected": [],
            "in_service": ["complete", "cancel"],
            "completed": ["post_feedback"],
            "feedback_posted": ["acknowledge_feedback"],
            "loop_closed": [],
            "cancelled": [],
        ],
    ]

    /// The documented row of `state`; nil for a status the table does not have.
    static func allowed<M: StateMachine>(_ machine: M.Type, in state: M.State?) -> [String]? {
        Self.rows[M.streamType]?[M.stateName(state)]
    }
}
