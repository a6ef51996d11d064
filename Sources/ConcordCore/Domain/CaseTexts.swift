/// What a case says, as its readers see it: its texts gathered from its events (opened, or in their stored form:
/// `PersonalData.erased` once the person is erased), and each event's content. Built from the events, since the
/// state holds no text.
public enum CaseTexts {
    /// How an event's text appears in the case view.
    enum Shape {
        /// The value of this payload member; a later event replaces an earlier one.
        case text(String)
        /// The event's content with its `author`; a later event replaces an earlier one.
        case item
        /// The event's content with its `author`, one item per event, oldest first.
        case list
    }

    /// The view member each event type with text fills, and how. A new event type with text adds one line here.
    static let views: [String: (key: String, shape: Shape)] = [
        "ComplaintLodged": ("description", .text("description")),
        "ComplaintNoteAdded": ("notes", .list),
        "ComplaintFindingRecorded": ("findings", .list),
        "ComplaintResolved": ("actions_taken", .text("actions_taken")),
        "ComplaintTransferred": ("transfers", .list),
        "ComplaintEscalated": ("escalations", .list),
        "ComplaintReopened": ("reopenings", .list),
        "ComplaintWithdrawn": ("withdrawal_reason", .text("reason")),
        "ComplaintRejectedOutOfScope": ("rejection_reason", .text("reason")),
        "AppealLodged": ("grounds", .text("grounds")),
        "AppealDecided": ("reasoning", .text("reasoning")),
        "AppealNoteAdded": ("notes", .list),
        "AppealWithdrawn": ("withdrawal_reason", .text("reason")),
        "ReferralCreated": ("reason", .text("reason")),
        "ReferralDeclined": ("declines", .list),
        "ReferralCompleted": ("not_delivered_details", .text("details")),
        "CounterReferralPosted": ("feedback", .item),
        "ReferralCancelled": ("cancellation_reason", .text("reason")),
        "ComplaintMessageSent": ("messages", .list),
        "ComplaintMessageDelivered": ("messages", .list),
        "ComplaintMessageFailed": ("messages", .list),
        "ReferralMessageSent": ("messages", .list),
        "ReferralMessageDelivered": ("messages", .list),
        "ReferralMessageFailed": ("messages", .list),
    ]

    /// The members the case view gains from `events`: `description`, `notes` (each with `text`, `author`, `at`),
    /// `findings`, `actions_taken`, the reasons, and so on (see docs/api.md).
    public static func view(_ events: [RecordedEvent]) -> JSONObject {
        var members = JSONObject()
        var lists: [String: [JSONValue]] = [:]
        for event in events {
            guard let (key, shape) = Self.views[event.type] else { continue }
            switch shape {
            case .text(let member):
                if let value = event.payload[member] { members[key] = value }
            case .item: members[key] = Self.item(event)
            case .list: lists[key, default: []].append(Self.item(event))
            }
        }
        for (key, items) in lists { members[key] = .array(items) }
        return members
    }

    /// An event's content and who recorded it (the metadata's actor).
    static func item(_ event: RecordedEvent) -> JSONValue {
        guard case .object(var members) = Self.content(event, texts: true, person: false) else { return .null }
        members["author"] = event.metadata.actor.map(JSONValue.string) ?? .null
        return .object(members)
    }

    /// An event's payload as a reader sees it: without the person's details unless `person`, without the free
    /// texts unless `texts`.
    public static func content(_ event: RecordedEvent, texts: Bool, person: Bool) -> JSONValue {
        guard case .object(var members) = event.payload else { return event.payload }
        if !person, let member = PersonalData.members[event.type] { members[member] = nil }
        // The number a message went to is the person's detail, not a text: only the roles that read people see it.
        if !person, Delivery.eventTypes.contains(event.type) { members["to"] = nil }
        if !texts { for name in FreeText.members[event.type] ?? [] { members[name] = nil } }
        return .object(members)
    }
}
