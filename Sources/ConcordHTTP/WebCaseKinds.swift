import ConcordCore
import ConcordWeb
import Foundation

/// One field of a command's form: its name in the command body, how it is entered, and its choices.
struct WebField: Sendable {
    enum Input: Sendable {
        case text, textarea
        case select([String])
        /// One item per line, sent as an array of strings (`services_given`).
        case lines
        /// A programme or service type of the reference data (`new_receiver`).
        case receiver
        /// An area of the reference data (`to_area`).
        case area
    }
    var name: String
    var input: Input
    var required: Bool
}

/// What the pages need to know about a kind of case beyond `CaseKind`: where its pages live, each command's form
/// fields (as its request body takes them) and the facts its page shows. One case page serves every kind.
protocol WebCaseKind: CaseKind {
    /// `complaints`, `appeals`, `referrals`: the pages' path, as the API's.
    static var collection: String { get }
    static var commandFields: [String: [WebField]] { get }
    /// The facts the page shows, as (label key, text).
    static func facts(_ state: State, catalog: ReferenceCatalog, locale: WebLocale) -> [(String, String)]
    /// What the page adds to a command's body that the user does not type.
    static func complete(_ command: String, _ body: inout [String: JSONValue], state: State, principal: Principal)
}

extension WebCaseKind {
    static func complete(_ command: String, _ body: inout [String: JSONValue], state: State, principal: Principal) {}
}

extension ReferenceCatalog {
    /// A programme's or service type's name, else the code.
    func receiverName(_ code: String) -> String {
        self.programme(code)?.name ?? self.serviceType(code)?.name ?? self.office(code)?.name ?? code
    }
}

extension Complaint: WebCaseKind {
    static var collection: String { "complaints" }

    static let commandFields: [String: [WebField]] = [
        "acknowledge": [],
        "assign": [WebField(name: "officer", input: .text, required: false)],
        "resolve": [
            WebField(name: "outcome", input: .select(RedressOutcome.allCases.map(\.rawValue)), required: true),
            WebField(name: "actions_taken", input: .textarea, required: true),
        ],
        "notify_complainant": [
            WebField(name: "method", input: .select(NotificationMethod.allCases.map(\.rawValue)), required: true)
        ],
        "close": [
            WebField(name: "satisfaction", input: .select(Satisfaction.allCases.map(\.rawValue)), required: false)
        ],
        "add_note": [WebField(name: "text", input: .textarea, required: true)],
        "record_finding": [WebField(name: "text", input: .textarea, required: true)],
        "escalate": [
            WebField(name: "to_area", input: .area, required: true),
            WebField(name: "reason", input: .textarea, required: true),
        ],
        "transfer": [
            WebField(name: "to_programme", input: .receiver, required: true),
            WebField(name: "reason", input: .textarea, required: true),
        ],
        "withdraw": [WebField(name: "reason", input: .textarea, required: false)],
        "reopen": [WebField(name: "reason", input: .textarea, required: true)],
        "reject_out_of_scope": [
            WebField(name: "redirect_to", input: .receiver, required: true),
            WebField(name: "reason", input: .textarea, required: false),
        ],
    ]

    static func facts(_ state: State, catalog: ReferenceCatalog, locale: WebLocale) -> [(String, String)] {
        [
            ("field.category", locale.text("category.\(state.category.rawValue)")),
            ("field.programme", state.programme.map(catalog.receiverName) ?? locale.text("lodge.not_known")),
            ("field.area", catalog.area(state.area)?.name ?? state.area),
            ("case.lodged", locale.format(state.lodgedAt)),
        ]
    }

    /// An assignment from the page is to the complaint's programme, or the user's own (a transfer moves it).
    static func complete(_ command: String, _ body: inout [String: JSONValue], state: State, principal: Principal) {
        if command == "assign" { body["programme"] = .string(state.programme ?? principal.scope ?? "") }
    }
}

extension Appeal: WebCaseKind {
    static var collection: String { "appeals" }

    static let commandFields: [String: [WebField]] = [
        "acknowledge": [],
        "assign": [
            WebField(name: "review_level", input: .select(ReviewLevel.allCases.map(\.rawValue)), required: true),
            WebField(name: "reviewer", input: .text, required: false),
        ],
        "decide": [
            WebField(name: "decision", input: .select(Decision.allCases.map(\.rawValue)), required: true),
            WebField(name: "reasoning", input: .textarea, required: true),
        ],
        "notify_appellant": [
            WebField(name: "method", input: .select(NotificationMethod.allCases.map(\.rawValue)), required: true)
        ],
        "close": [],
        "add_note": [WebField(name: "text", input: .textarea, required: true)],
        "withdraw": [WebField(name: "reason", input: .textarea, required: false)],
    ]

    static func facts(_ state: State, catalog: ReferenceCatalog, locale: WebLocale) -> [(String, String)] {
        var against = locale.text("against.\(Self.againstName(state.subject))")
        if case .complaintOutcome(let complaintID) = state.subject { against += " \(complaintID)" }
        var facts = [
            ("field.against", against), ("field.programme", catalog.receiverName(state.programme)),
            ("field.area", catalog.area(state.area)?.name ?? state.area),
            ("case.lodged", locale.format(state.lodgedAt)),
        ]
        if let level = state.reviewLevel {
            facts.append(("field.review_level", locale.choice("review_level", level.rawValue)))
        }
        if let decision = state.decision {
            facts.append(("field.decision", locale.choice("decision", decision.rawValue)))
        }
        return facts
    }

    static func againstName(_ subject: Subject) -> String {
        switch subject {
        case .eligibilityDecision: "eligibility"
        case .amountDecision: "amount"
        case .suspensionDecision: "suspension"
        case .complaintOutcome: "complaint_outcome"
        }
    }
}

extension Referral: WebCaseKind {
    static var collection: String { "referrals" }

    static let commandFields: [String: [WebField]] = [
        "acknowledge": [], "accept": [], "start_service": [], "acknowledge_feedback": [],
        "decline": [
            WebField(name: "reason", input: .select(DeclineReason.allCases.map(\.rawValue)), required: true),
            WebField(name: "explanation", input: .textarea, required: false),
        ],
        "redirect": [WebField(name: "new_receiver", input: .receiver, required: true)],
        "complete": [
            WebField(name: "outcome", input: .select(["delivered", "not_delivered"]), required: true),
            WebField(
                name: "not_delivered_reason", input: .select(NotDeliveredReason.allCases.map(\.rawValue)),
                required: false),
            WebField(name: "details", input: .textarea, required: false),
        ],
        "post_feedback": [
            WebField(name: "outcome", input: .text, required: true),
            WebField(name: "services_given", input: .lines, required: true),
            WebField(name: "notes", input: .textarea, required: false),
        ],
        "cancel": [WebField(name: "reason", input: .textarea, required: true)],
    ]

    static func facts(_ state: State, catalog: ReferenceCatalog, locale: WebLocale) -> [(String, String)] {
        var facts = [
            ("field.source", catalog.receiverName(state.source)),
            ("field.receiver", catalog.receiverName(state.receiver)),
            ("field.urgency", locale.choice("urgency", state.urgency.rawValue)),
            ("field.referral_type", state.referralType), ("case.created", locale.format(state.createdAt)),
        ]
        if let reason = state.declineReason {
            facts.append(("field.decline_reason", locale.choice("reason", reason.rawValue)))
        }
        if let next = state.redirectedTo { facts.append(("field.redirected_to", next)) }
        return facts
    }
}

extension WebLocale {
    /// The label of a choice: `choice.<field>.<value>` where one word means two things (an appeal's `upheld` is
    /// not a complaint's), else `choice.<value>`.
    func choice(_ field: String, _ value: String) -> String {
        let specific = "choice.\(field).\(value)"
        let text = self.text(specific)
        return text == specific ? self.text("choice.\(value)") : text
    }
}
