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

/// The authenticated caller: who an API token says the request comes from. Never holds the token's secret.
public struct Principal: Sendable, Hashable {
    /// The token's id (not its secret): what `concord token list` shows and `concord token revoke` takes.
    public var tokenID: UUID
    public var role: Role
    /// The office, programme or area code the caller acts for; nil for auditors and admins.
    public var scope: String?
    /// A human note given when the token was created ("Kisumu one-stop shop, front desk").
    public var label: String?
    /// A programme's designated focal point for sensitive complaints: only such tokens (and admins) see them.
    public var focalPoint: Bool

    public init(tokenID: UUID, role: Role, scope: String?, label: String?, focalPoint: Bool = false) {
        self.tokenID = tokenID
        self.role = role
        self.scope = scope
        self.label = label
        self.focalPoint = focalPoint
    }

    /// How the caller is named in event metadata (`actor`): "token:" and the first 8 characters of the token id.
    /// Enough to find the token in `concord token list`; never the secret.
    public var metadataActor: String {
        "token:" + self.tokenID.uuidString.lowercased().prefix(8)
    }
}
