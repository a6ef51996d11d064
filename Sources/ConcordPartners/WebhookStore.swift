import ConcordCore
import Foundation
import Logging
import PostgresNIO

/// Webhook subscriptions in `webhook_subscriptions`: what the admin API and `concord webhook` change, and what the
/// dispatcher reads and moves on.
public struct WebhookStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let columns = """
        id, url, event_types, role, scope, focal_point, label, state, disabled_reason, position, failing_since,
        last_error, last_attempt_at, created_at, secret, previous_secret,
        CASE WHEN previous_secret_expires_at > now() THEN previous_secret_expires_at END AS previous_expires
        """

    // MARK: Admin

    /// Creates a subscription and returns it with its secret, shown this once.
    public func create(
        _ request: WebhookRequest, catalog: ReferenceCatalog
    ) async throws -> (subscription: WebhookSubscription, secret: String) {
        let problems = request.validate(catalog: catalog)
        guard problems.isEmpty else { throw WebhookRefusal.invalid(problems) }
        let secret = WebhookSignature.newSecret()
        // Without a first position: from the next event appended (the head now).
        let rows = try await self.client.query(
            """
            INSERT INTO webhook_subscriptions (id, url, event_types, role, scope, focal_point, label, secret, position)
            VALUES (\(UUID()), \(request.url), \(request.eventTypes), \(request.role.rawValue), \(request.scope),
                    \(request.focalPoint), \(request.label), \(secret),
                    coalesce(\(request.fromPosition.map { $0 - 1 }), (SELECT coalesce(max(position), 0) FROM events)))
            RETURNING \(unescaped: Self.columns)
            """, logger: self.logger)
        guard let subscription = try await Self.decode(rows).first else { throw WebhookRefusal.notFound }
        return (subscription, secret)
    }

    public func list() async throws -> [WebhookSubscription] {
        try await Self.decode(
            self.client.query(
                "SELECT \(unescaped: Self.columns) FROM webhook_subscriptions ORDER BY created_at, id",
                logger: self.logger))
    }

    public func find(_ id: UUID) async throws -> WebhookSubscription {
        let rows = try await self.client.query(
            "SELECT \(unescaped: Self.columns) FROM webhook_subscriptions WHERE id = \(id)", logger: self.logger)
        guard let found = try await Self.decode(rows).first else { throw WebhookRefusal.notFound }
        return found
    }

    /// Changes the URL, the event types or the label (nil: unchanged).
    public func update(
        _ id: UUID, url: String?, eventTypes: [String]?, label: String?
    ) async throws
        -> WebhookSubscription
    {
        let problems = (url.map(WebhookRequest.urlProblems) ?? []) + WebhookRequest.eventTypeProblems(eventTypes ?? [])
        guard problems.isEmpty else { throw WebhookRefusal.invalid(problems) }
        var binds = PostgresBindings()
        binds.append(url)
        binds.append(eventTypes)
        binds.append(label)
        return try await self.changing(
            id, "url = coalesce($1, url), event_types = coalesce($2, event_types), label = coalesce($3, label)", binds)
    }

    /// A new secret, shown this once; the old one keeps signing for `overlap`, so that the subscriber can switch.
    public func rotate(
        _ id: UUID, overlap: Duration
    ) async throws -> (subscription: WebhookSubscription, secret: String) {
        let secret = WebhookSignature.newSecret()
        let seconds = Double(overlap.components.seconds)
        var binds = PostgresBindings()
        binds.append(secret)
        binds.append(seconds)
        let subscription = try await self.changing(
            id, "previous_secret = secret, secret = $1, previous_secret_expires_at = now() + $2 * interval '1 second'",
            binds)
        return (subscription, secret)
    }

    /// Disables (nothing is sent; the position stays) or enables again (failures forgotten, delivery resumes).
    public func setActive(_ id: UUID, _ active: Bool, reason: String? = nil) async throws -> WebhookSubscription {
        if active {
            return try await self.changing(
                id, "state = 'active', disabled_reason = NULL, failing_since = NULL, last_error = NULL")
        }
        var binds = PostgresBindings()
        binds.append(reason ?? "disabled by an administrator")
        return try await self.changing(id, "state = 'disabled', disabled_reason = $1", binds)
    }

    /// Sends again every event from `fromPosition` on (that the subscriber may read).
    public func replay(_ id: UUID, from fromPosition: Int64) async throws -> WebhookSubscription {
        guard fromPosition >= 1 else {
            throw WebhookRefusal.invalid([FieldProblem(field: "from_position", reason: "must be 1 or more")])
        }
        var binds = PostgresBindings()
        binds.append(fromPosition - 1)
        return try await self.changing(id, "position = $1", binds)
    }

    /// Runs an `UPDATE webhook_subscriptions SET ...` whose SET list is `assignments` on subscription `id`.
    private func changing(
        _ id: UUID, _ assignments: String, _ binds: PostgresBindings = PostgresBindings()
    )
        async throws -> WebhookSubscription
    {
        var query = PostgresQuery(
            unsafeSQL:
                "UPDATE webhook_subscriptions SET updated_at = now(), \(assignments) WHERE id = $\(binds.count + 1) "
                + "RETURNING \(Self.columns)", binds: binds)
        query.binds.append(id)
        guard let found = try await Self.decode(self.client.query(query, logger: self.logger)).first else {
            throw WebhookRefusal.notFound
        }
        return found
    }

    // MARK: Dispatcher

    /// The active subscriptions, with the secrets that sign now.
    public func active() async throws -> [WebhookSubscription] {
        try await Self.decode(
            self.client.query(
                "SELECT \(unescaped: Self.columns) FROM webhook_subscriptions WHERE state = 'active' ORDER BY id",
                logger: self.logger))
    }

    /// Moves the position from `old` to `new` after a delivery; false when it moved meanwhile (a replay) or the
    /// subscription was disabled, and the caller starts again from what the table holds.
    public func advance(_ id: UUID, from old: Int64, to new: Int64, delivered: Bool) async throws -> Bool {
        let rows = try await self.client.query(
            """
            UPDATE webhook_subscriptions SET position = \(new),
                failing_since = CASE WHEN \(delivered) THEN NULL ELSE failing_since END,
                last_error = CASE WHEN \(delivered) THEN NULL ELSE last_error END,
                last_attempt_at = CASE WHEN \(delivered) THEN now() ELSE last_attempt_at END
            WHERE id = \(id) AND position = \(old) AND state = 'active' RETURNING id
            """, logger: self.logger)
        var moved = false
        for try await _ in rows { moved = true }
        return moved
    }

    /// Records a failed delivery; disables the subscription once it has failed for longer than `disableAfter`.
    /// Returns whether it is now disabled.
    public func recordFailure(_ id: UUID, error: String, disableAfter: Duration) async throws -> Bool {
        let seconds = Double(disableAfter.components.seconds) + Double(disableAfter.components.attoseconds) / 1e18
        let rows = try await self.client.query(
            """
            UPDATE webhook_subscriptions SET failing_since = coalesce(failing_since, now()),
                last_error = \(String(error.prefix(500))), last_attempt_at = now(), updated_at = now(),
                state = CASE WHEN failing_since < now() - \(seconds) * interval '1 second' THEN 'disabled'
                        ELSE state END,
                disabled_reason = CASE WHEN failing_since < now() - \(seconds) * interval '1 second'
                        THEN 'deliveries failed since ' || to_char(failing_since AT TIME ZONE 'UTC',
                             'YYYY-MM-DD"T"HH24:MI:SS"Z"') ELSE disabled_reason END
            WHERE id = \(id) AND state = 'active' RETURNING state
            """, logger: self.logger)
        var disabled = false
        for try await state in rows.decode(String.self) { disabled = state == "disabled" }
        return disabled
    }

    /// A stored role; one this binary does not know is refused, never read as another.
    static func role(_ text: String) throws -> Role {
        guard let role = Role(rawValue: text) else { throw WebhookRefusal.unknownStoredRole(text) }
        return role
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [WebhookSubscription] {
        var found: [WebhookSubscription] = []
        for try await row in rows {
            let row = row.makeRandomAccess()
            let secret = try row["secret"].decode(String.self)
            let previous = try row["previous_secret"].decode(String?.self)
            let previousExpires = try row["previous_expires"].decode(Date?.self)
            found.append(
                WebhookSubscription(
                    id: try row["id"].decode(UUID.self), url: try row["url"].decode(String.self),
                    eventTypes: try row["event_types"].decode([String].self),
                    role: try Self.role(row["role"].decode(String.self)),
                    scope: try row["scope"].decode(String?.self), focalPoint: try row["focal_point"].decode(Bool.self),
                    label: try row["label"].decode(String?.self),
                    state: WebhookSubscription.State(rawValue: try row["state"].decode(String.self)) ?? .disabled,
                    disabledReason: try row["disabled_reason"].decode(String?.self),
                    position: try row["position"].decode(Int64.self),
                    failingSince: try row["failing_since"].decode(Date?.self),
                    lastError: try row["last_error"].decode(String?.self),
                    lastAttemptAt: try row["last_attempt_at"].decode(Date?.self),
                    previousSecretExpiresAt: previousExpires, createdAt: try row["created_at"].decode(Date.self),
                    secrets: [secret] + (previousExpires != nil ? [previous].compactMap { $0 } : [])))
        }
        return found
    }
}
