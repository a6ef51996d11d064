/// JSON views of a stream's state for API responses. Both are built from the state alone, which holds no personal
/// data. As in the event payloads, keys are snake_case, enums snake_case strings, times RFC 3339 strings, and
/// members without a value are left out.
public protocol StateViews: StateMachine {
    /// What the offices, programmes and coordinators see: `kind`, `status`, `allowed_commands`, `loop_closed` and
    /// everything else the state knows.
    static func view(_ state: State) -> JSONValue

    /// What a complainant sees with a tracking code, without logging in: `kind`, `status`, the key dates and
    /// `next_step`, a plain sentence about what happens next. Never notes, findings, descriptions, codes of
    /// offices, areas, programmes or officers.
    static func trackingView(_ state: State) -> JSONValue

    /// Every key `trackingView` may write.
    static var trackingViewKeys: Set<String> { get }
}

extension StateViews {
    /// The members that open every view: `kind`, `status` and `allowed_commands`.
    static func viewHeader(_ state: State) -> JSONValue {
        Payload.object([
            "kind": Self.streamType, "status": Self.stateName(state),
            "allowed_commands": Self.allowedCommands(in: state).map(\.rawValue),
        ])
    }
}

/// The facts of a tracking view, under the key names of one stream kind.
struct TrackingFacts {
    var kind: String
    var status: String
    /// The key and time of the creation: `lodged_at` or `created_at`.
    var opened: (key: String, at: Timestamp)
    var acknowledgedAt: Timestamp?
    /// The key and time of the answer: `resolved_at`, `decided_at` or `completed_at`.
    var answered: (key: String, at: Timestamp?)
    /// When the stream reached a status it does not leave: closed, withdrawn, cancelled and the like.
    var closedAt: Timestamp?
    var nextStep: String

    /// The keys a tracking view with these opening and answer keys may hold.
    static func keys(opened: String, answered: String) -> Set<String> {
        ["kind", "status", opened, "acknowledged_at", answered, "closed_at", "next_step"]
    }

    var json: JSONValue {
        View.merged(
            Payload.object([
                "kind": self.kind, "status": self.status, "acknowledged_at": self.acknowledgedAt,
                "closed_at": self.closedAt, "next_step": self.nextStep,
            ]),
            Payload.object([self.opened.key: self.opened.at]),
            Payload.object([self.answered.key: self.answered.at]))
    }
}

/// Helpers to build views.
enum View {
    /// The members of all `parts` (objects) in one object; a later part wins on a shared key.
    static func merged(_ parts: JSONValue...) -> JSONValue {
        var members = JSONObject()
        for case .object(let part) in parts {
            members.merge(part) { _, later in later }
        }
        return .object(members)
    }
}
