import ConcordCore
import Foundation

/// A partner system or programme told of the case events it may read (sql/0018_webhook_subscriptions.sql).
public struct WebhookSubscription: Sendable, Hashable {
    public enum State: String, Sendable, Hashable {
        case active
        case disabled
    }

    public var id: UUID
    public var url: String
    /// CloudEvents types (`CaseCloudEvent.allTypes`); empty: every case event.
    public var eventTypes: [String]
    public var role: Role
    public var scope: String?
    public var focalPoint: Bool
    public var label: String?
    public var state: State
    public var disabledReason: String?
    /// The last log position delivered (or skipped as not for this subscriber).
    public var position: Int64
    public var failingSince: Date?
    public var lastError: String?
    public var lastAttemptAt: Date?
    /// When the previous secret stops signing; nil when none is kept.
    public var previousSecretExpiresAt: Date?
    public var createdAt: Date
    /// The secrets that sign now (the current one first). Never shown.
    var secrets: [String]

    /// Who the subscriber reads as: a caller of this role and scope.
    public var reader: Principal {
        Principal(tokenID: self.id, role: self.role, scope: self.scope, label: self.label, focalPoint: self.focalPoint)
    }

    /// Whether events of this CloudEvents type are wanted.
    public func wants(_ type: String) -> Bool { self.eventTypes.isEmpty || self.eventTypes.contains(type) }

    /// The subscription as the admin API and the CLI show it: never a secret.
    public var json: JSONValue {
        .object([
            "id": .string(self.id.uuidString.lowercased()), "url": .string(self.url),
            "event_types": .array(self.eventTypes.map(JSONValue.string)), "role": .string(self.role.rawValue),
            "scope": self.scope.map(JSONValue.string) ?? .null, "focal_point": .bool(self.focalPoint),
            "label": self.label.map(JSONValue.string) ?? .null, "state": .string(self.state.rawValue),
            "disabled_reason": self.disabledReason.map(JSONValue.string) ?? .null,
            "position": .integer(self.position),
            "failing_since": Self.time(self.failingSince), "last_error": self.lastError.map(JSONValue.string) ?? .null,
            "last_attempt_at": Self.time(self.lastAttemptAt),
            "previous_secret_expires_at": Self.time(self.previousSecretExpiresAt),
            "created_at": Self.time(self.createdAt),
        ])
    }

    static func time(_ date: Date?) -> JSONValue { date.map { .string(Timestamp($0).rfc3339) } ?? .null }
}

/// What a new subscription asks for. `validate` names every bad field, for the API's problem and the CLI's line.
public struct WebhookRequest: Sendable, Hashable {
    public var url: String
    public var eventTypes: [String]
    public var role: Role
    public var scope: String?
    public var focalPoint: Bool
    public var label: String?
    /// The first log position to deliver; nil: from the next event appended.
    public var fromPosition: Int64?

    public init(
        url: String, eventTypes: [String] = [], role: Role, scope: String?, focalPoint: Bool = false,
        label: String? = nil, fromPosition: Int64? = nil
    ) {
        self.url = url
        self.eventTypes = eventTypes
        self.role = role
        self.scope = scope
        self.focalPoint = focalPoint
        self.label = label
        self.fromPosition = fromPosition
    }

    public func validate(catalog: ReferenceCatalog) -> [FieldProblem] {
        var problems = Self.urlProblems(self.url) + Self.eventTypeProblems(self.eventTypes)
        switch self.role {
        case .admin:
            problems.append(FieldProblem(field: "role", reason: "a subscriber cannot read as admin"))
        case .office, .programme, .coordinator:
            if let scope = self.scope, !scope.isEmpty {
                if let problem = catalog.scopeProblem(scope, for: self.role) {
                    problems.append(FieldProblem(field: "scope", reason: problem))
                }
            } else {
                problems.append(FieldProblem(field: "scope", reason: "is required for role \(self.role.rawValue)"))
            }
        case .auditor:
            if self.scope != nil { problems.append(FieldProblem(field: "scope", reason: "an auditor takes no scope")) }
        }
        if self.focalPoint, self.role != .programme {
            problems.append(FieldProblem(field: "focal_point", reason: "only a programme subscriber can be one"))
        }
        if let from = self.fromPosition, from < 1 {
            problems.append(FieldProblem(field: "from_position", reason: "must be 1 or more"))
        }
        return problems
    }

    /// An absolute http or https URL with a host.
    public static func urlProblems(_ url: String) -> [FieldProblem] {
        guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""),
            let host = parsed.host, !host.isEmpty, url.count <= 2_000
        else { return [FieldProblem(field: "url", reason: "must be an absolute http or https URL, e.g. https://...")] }
        return []
    }

    public static func eventTypeProblems(_ types: [String]) -> [FieldProblem] {
        types.filter { !CaseCloudEvent.allTypes.contains($0) }.prefix(1).map {
            FieldProblem(
                field: "event_types",
                reason: "\($0) is not an event type; they are e.g. org.concord.complaint.lodged (docs/api.md)")
        }
    }
}

/// Why a webhook command was refused.
public enum WebhookRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    case invalid([FieldProblem])
    case notFound
    /// A stored row names a role this binary does not know (the table's CHECK should make this impossible).
    case unknownStoredRole(String)

    public var description: String {
        switch self {
        case .invalid(let problems): problems.map(\.description).joined(separator: "; ")
        case .notFound: "no such webhook subscription"
        case .unknownStoredRole(let role):
            "webhook_subscriptions holds a subscription with unknown role \(role): is this binary older than the database?"
        }
    }
}
