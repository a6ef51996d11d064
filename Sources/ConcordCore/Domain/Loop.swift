/// What must happen next to a complaint, appeal or referral, and who does it.
public enum NextStep: String, Sendable, Hashable, CaseIterable, PayloadEnum {
    /// The handling programme (or receiver) acknowledges receipt.
    case acknowledge
    /// The programme assigns, investigates and resolves a complaint.
    case resolve
    /// The review decides an appeal.
    case decide
    /// The receiver accepts or declines a referral.
    case accept
    /// The receiver delivers the service and completes the referral.
    case deliver
    /// The receiver posts counter-referral feedback.
    case giveFeedback = "give_feedback"
    /// The lodging office tells the complainant or appellant the outcome.
    case notify
    /// The source redirects or cancels a declined referral.
    case redirect
    /// The source acknowledges the counter-referral, which closes the loop.
    case acknowledgeFeedback = "acknowledge_feedback"

    /// How a person reads it, e.g. "counter-referral feedback".
    public var phrase: String {
        switch self {
        case .acknowledge: "acknowledgement"
        case .resolve: "resolution"
        case .decide: "decision on the appeal"
        case .accept: "acceptance or decline"
        case .deliver: "the service"
        case .giveFeedback: "counter-referral feedback"
        case .notify: "telling the person the outcome"
        case .redirect: "a redirect or cancellation"
        case .acknowledgeFeedback: "acknowledgement of the counter-referral"
        }
    }
}

/// The due time the service escalated a complaint for (`EscalatedForOverdue`): once per due time.
public struct OverdueEscalation: Sendable, Hashable {
    public var step: NextStep
    public var dueAt: Timestamp

    public init(step: NextStep, dueAt: Timestamp) {
        self.step = step
        self.dueAt = dueAt
    }
}

/// Where a case's loop stands. `overdue` is `open` or `awaitingFeedback` past its due time: it depends on the
/// clock, so it is worked out when asked (`CaseSummary.loopStatus(at:)`), never stored.
public enum LoopStatus: String, Sendable, Hashable, CaseIterable {
    case open
    case awaitingFeedback = "awaiting_feedback"
    case closed
    case overdue
}

/// Who must act next: a programme (or the service a referral is addressed to), an office, or, for a complaint
/// whose programme is not known yet, the coordinators of its area.
public struct Party: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case programme, office, area
    }

    public var kind: Kind
    public var code: String

    public init(_ kind: Kind, _ code: String) {
        self.kind = kind
        self.code = code
    }
}

/// The next step of a case: what, by whom, due when (nil where no service level sets a time).
public struct Pending: Sendable, Hashable {
    public var step: NextStep
    public var party: Party
    public var dueAt: Timestamp?

    public init(_ step: NextStep, by party: Party, dueAt: Timestamp?) {
        self.step = step
        self.party = party
        self.dueAt = dueAt
    }
}

extension ReferenceCatalog {
    /// The service level that applies to `category` at `programme`. A complaint whose programme is not known yet
    /// gets the strictest level any programme sets for its category, so that it is never without a due time.
    public func serviceLevel(programme code: String?, category: Complaint.Category) -> ServiceLevel? {
        if let code { return self.programme(code)?.serviceLevel(for: category) }
        let levels = self.programmes.values.compactMap { $0.serviceLevel(for: category) }
        guard let first = levels.first else { return nil }
        return levels.reduce(first) { strictest, level in
            ServiceLevel(
                daysToAcknowledge: min(strictest.daysToAcknowledge, level.daysToAcknowledge),
                daysToResolve: min(strictest.daysToResolve, level.daysToResolve),
                daysToGiveFeedback: min(strictest.daysToGiveFeedback, level.daysToGiveFeedback))
        }
    }

    /// The programme that works what is addressed to `code`: the programme itself, or a service type's programme.
    public func receivingProgramme(_ code: String) -> Programme? {
        self.programme(code) ?? self.serviceType(code)?.programme.flatMap { self.programme($0) }
    }

    /// Whether `code` names an office (rather than a programme or service).
    func partyKind(_ code: String) -> Party.Kind {
        self.office(code) != nil ? .office : .programme
    }
}

extension Timestamp {
    /// This time plus `days` whole days; nil stays nil.
    public func adding(days: Int?) -> Timestamp? {
        days.map { Timestamp(microsecondsSinceEpoch: self.microsecondsSinceEpoch + Int64($0) * 86_400_000_000) }
    }
}

extension ReferenceCatalog {
    /// How a person calls a party: the programme's, office's, service's or area's name, else its code.
    public func name(of party: Party) -> String {
        switch party.kind {
        case .programme: self.programme(party.code)?.name ?? self.serviceType(party.code)?.name ?? party.code
        case .office: self.office(party.code)?.name ?? self.programme(party.code)?.name ?? party.code
        case .area: "the coordinators of " + (self.area(party.code)?.name ?? party.code)
        }
    }
}
