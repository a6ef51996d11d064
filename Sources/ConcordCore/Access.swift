import Foundation

/// What a caller of the HTTP API is allowed to do. Each API token carries exactly one role; the roles with a scope
/// act for one office, programme or area, named by its code (brief, invariants 5 and 6).
public enum Role: String, Sendable, CaseIterable {
    /// A front office (one-stop shop, Single Window Service, district welfare office, mobile unit): lodges
    /// complaints, appeals and referrals, and reads what it lodged or was sent. Scope: the office code.
    case office
    /// A programme's back office: reads and acts on the complaints assigned and the referrals addressed to it
    /// (acknowledge, accept or decline, resolve, post counter-referral feedback). Scope: the programme code.
    case programme
    /// A coordinator at one administrative level: reads everything in its area and the areas below it (what is
    /// overdue, escalations, indicators). Scope: the area code.
    case coordinator
    /// An auditor or M&E officer: reads everything, including the whole event log, and writes nothing.
    case auditor
    /// An administrator: manages reference data (programmes, areas, offices, service levels).
    case admin

    /// Whether a token with this role must name the office, programme or area it acts for. Auditors and admins
    /// act for the whole system and take no scope.
    public var needsScope: Bool {
        switch self {
        case .office, .programme, .coordinator: true
        case .auditor, .admin: false
        }
    }
}

/// The person behind a signed-in session: what event metadata names them by.
public struct SignedInUser: Sendable, Hashable {
    public var id: UUID
    /// Unique without regard to case, and never changed: events name the user by it.
    public var login: String
    public var name: String

    public init(id: UUID, login: String, name: String) {
        self.id = id
        self.login = login
        self.name = name
    }
}

/// The authenticated caller: who an API token or a user's session says the request comes from. Never holds a
/// secret.
public struct Principal: Sendable, Hashable {
    /// The token's id (not its secret): what `concord token list` shows and `concord token revoke` takes; for a
    /// session, the session's id.
    public var tokenID: UUID
    public var role: Role
    /// The office, programme or area code the caller acts for; nil for auditors and admins.
    public var scope: String?
    /// A human note given when the token was created ("Kisumu one-stop shop, front desk").
    public var label: String?
    /// A programme's designated focal point for sensitive complaints: only such tokens (and admins) see them.
    public var focalPoint: Bool
    /// The signed-in person, for a session; nil for an API token.
    public var user: SignedInUser?
    /// A token's owner: a user's login or a free label naming the system that uses it.
    public var owner: String?
    /// When the token or the session stops working (a session may end sooner when left idle).
    public var expiresAt: Date?

    public init(
        tokenID: UUID, role: Role, scope: String?, label: String?, focalPoint: Bool = false,
        user: SignedInUser? = nil, owner: String? = nil, expiresAt: Date? = nil
    ) {
        self.tokenID = tokenID
        self.role = role
        self.scope = scope
        self.label = label
        self.focalPoint = focalPoint
        self.user = user
        self.owner = owner
        self.expiresAt = expiresAt
    }

    /// How the caller is named in event metadata (`actor`): "user:" and the login for a session; "token:" and the
    /// first 8 characters of the token id for a token (enough to find it in `concord token list`; never the secret).
    public var metadataActor: String {
        if let user = self.user { return "user:" + user.login }
        return "token:" + self.tokenID.uuidString.lowercased().prefix(8)
    }

    /// Who sends a request, for idempotency: the same user's retry in another session is the same request.
    public var requester: String {
        if let user = self.user { return "user:" + user.id.uuidString.lowercased() }
        return self.tokenID.uuidString
    }

    /// The metadata of the events this caller causes: who (`actor`, and the user's name or the token's label in
    /// `actor_name`, its owner in `owner`), in which role, for which office, programme or area.
    public func eventMetadata(idempotencyKey: String? = nil) -> EventMetadata {
        var metadata = EventMetadata(
            actor: self.metadataActor, role: self.role.rawValue, scope: self.scope, idempotencyKey: idempotencyKey)
        metadata.actorName = self.user?.name ?? self.label
        metadata.owner = self.user == nil ? self.owner : nil
        return metadata
    }
}
