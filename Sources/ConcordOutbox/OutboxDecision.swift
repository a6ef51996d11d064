import ConcordCore

/// A message the log calls for, before it is sent. It holds no personal data: the complainant's number and the
/// text are found when it is sent (the number opened from the case, the text rendered from `params`).
public struct OutboxMessage: Sendable, Hashable {
    /// Derived from the event that called for it, so deciding twice adds nothing; also the gateway's idempotency key.
    public var id: String
    public var stream: StreamName?
    public var purpose: String
    /// `complainant`, `programme:<code>`, `area:<code>` or `reply` (to `replyTo`).
    public var recipient: String
    public var language: String
    public var params: [String: String]
    public var replyTo: String?
    public var sourcePosition: Int64?

    public init(
        id: String, stream: StreamName?, purpose: String, recipient: String, language: String,
        params: [String: String], replyTo: String? = nil, sourcePosition: Int64? = nil
    ) {
        self.id = id
        self.stream = stream
        self.purpose = purpose
        self.recipient = recipient
        self.language = language
        self.params = params
        self.replyTo = replyTo
        self.sourcePosition = sourcePosition
    }
}

/// Decides, from one event and its case's state just after it, which messages must go out. Pure: the follower
/// reads the log and the state, and writes what this returns.
public struct OutboxDecision: Sendable {
    public var language: String
    /// Programmes and areas that have a number to alert (`SMSSettings.contacts`).
    public var contacts: Set<String>

    public init(language: String, contacts: Set<String>) {
        self.language = language
        self.contacts = contacts
    }

    /// The complainant hears by SMS when they asked to be reached by SMS or phone (so gave a number).
    static func reachesByPhone(_ state: Complaint.State) -> Bool {
        !state.anonymous && (state.contactPreference == .sms || state.contactPreference == .phone)
    }

    public func messages(
        after event: Complaint.Event, state: Complaint.State, id: String, version: Int64, catalog: ReferenceCatalog
    ) -> [OutboxMessage] {
        let stream = StreamName(type: Complaint.streamType, id: id)
        func message(
            _ purpose: Delivery.Purpose, _ key: String, _ recipient: String, _ params: [String: String]
        )
            -> OutboxMessage
        {
            OutboxMessage(
                id: "\(stream)/\(purpose.rawValue)\(key)", stream: stream, purpose: purpose.rawValue,
                recipient: recipient, language: self.language, params: params.merging(["code": id]) { $1 })
        }
        switch event {
        case .lodged where Self.reachesByPhone(state):
            let due = Complaint.summary(state, id: id, catalog: catalog).answerDueAt
            return [message(.acknowledgement, "", "complainant", due.map { ["due": $0.rfc3339] } ?? [:])]
        case .resolved(let outcome, _, _) where Self.reachesByPhone(state):
            return [message(.outcome, "/\(version)", "complainant", ["outcome": outcome.rawValue])]
        case .escalatedForOverdue(_, let toArea, _, let step, _, _):
            let recipients = [state.programme.map { "programme:\($0)" }, "area:\(toArea)"].compactMap { $0 }
            return recipients.filter { self.contacts.contains(String($0.split(separator: ":")[1])) }.map {
                message(.overdueAlert, "/\(version)/\($0)", $0, ["step": step.rawValue, "area": toArea])
            }
        default: return []
        }
    }

    public func messages(after event: Referral.Event, state: Referral.State, id: String) -> [OutboxMessage] {
        guard case .created = event, self.contacts.contains(state.receiver) else { return [] }
        let stream = StreamName(type: Referral.streamType, id: id)
        return [
            OutboxMessage(
                id: "\(stream)/\(Delivery.Purpose.referralAlert.rawValue)", stream: stream,
                purpose: Delivery.Purpose.referralAlert.rawValue, recipient: "programme:\(state.receiver)",
                language: self.language,
                params: ["code": id, "receiver": state.receiver, "urgency": state.urgency.rawValue])
        ]
    }

    /// The text of `message` in its language; nil for a purpose without a template.
    public static func text(of message: OutboxMessage) -> String {
        let words = SMSText.named(message.language)
        var values = message.params
        switch message.purpose {
        case Delivery.Purpose.acknowledgement.rawValue:
            guard let due = message.params["due"].flatMap(Timestamp.init(rfc3339:)) else {
                return words.text("sms.acknowledgement.no_due", values)
            }
            values["due"] = words.day(due)
            return words.text("sms.acknowledgement", values)
        case Delivery.Purpose.outcome.rawValue:
            values["outcome"] = words.text("sms.outcome.\(message.params["outcome"] ?? "")")
            return words.text("sms.outcome", values)
        case Delivery.Purpose.referralAlert.rawValue: return words.text("sms.referral_alert", values)
        case Delivery.Purpose.overdueAlert.rawValue: return words.text("sms.overdue_alert", values)
        default: return message.params["text"] ?? ""
        }
    }
}
