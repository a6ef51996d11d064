import ConcordCore
import Crypto
import Foundation
import Logging
import PostgresNIO

/// Why a token was not created. Messages are one line and say what to fix; they never carry a secret.
public enum TokenError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The role acts for one office, programme or area, and no scope code was given.
    case scopeRequired(Role)
    /// The role acts for the whole system, and a scope code was given.
    case scopeNotAllowed(Role)
    /// A stored row names a role this binary does not know (the table's CHECK should make this impossible).
    case unknownStoredRole(String)
    /// Only a programme token can be a focal point for sensitive complaints.
    case focalPointNotAProgramme(Role)

    public var description: String {
        switch self {
        case .scopeRequired(let role):
            "a token for role \(role.rawValue) needs a scope: the code of the \(Self.scopeNoun(role)) it acts for"
        case .scopeNotAllowed(let role):
            "a token for role \(role.rawValue) takes no scope: it acts for the whole system"
        case .unknownStoredRole(let name):
            "api_tokens holds a token with unknown role \(name): is this binary older than the database?"
        case .focalPointNotAProgramme(let role):
            "a token for role \(role.rawValue) cannot be a focal point: only programme tokens can"
        }
    }

    private static func scopeNoun(_ role: Role) -> String {
        switch role {
        case .office: "office"
        case .programme: "programme"
        case .coordinator, .auditor, .admin: "administrative area"
        }
    }
}

/// Bearer API tokens in `api_tokens` (sql/0002_api_tokens.sql).
///
/// A secret is "concord_" followed by 32 random bytes in unpadded base64url; only its SHA-256 is stored, so the
/// secret is shown once, when the token is created, and never again. Creating and revoking need the owner role;
/// the service role may only authenticate.
public struct TokenStore: Sendable {
    /// How long a token works unless its creator says otherwise: a year.
    public static let defaultLifetime: Duration = .seconds(365 * 86_400)
    /// What every secret starts with, so that a leaked one is easy to recognize (and to scan for).
    public static let secretPrefix = "concord_"
    /// Characters after the prefix: 32 bytes in unpadded base64url.
    static let encodedSecretLength = 43

    let client: PostgresClient
    let logger: Logger
    /// Principals already authenticated, trusted while their revocations are listened for; nil: none kept.
    let cache: TokenCache?

    public init(client: PostgresClient, logger: Logger, cache: TokenCache? = nil) {
        self.client = client
        self.logger = logger
        self.cache = cache
    }

    /// The same store, keeping the principals it authenticates in `cache`.
    public func caching(in cache: TokenCache) -> TokenStore {
        TokenStore(client: self.client, logger: self.logger, cache: cache)
    }

    /// Creates a token; returns who it authenticates as and its secret, which is not stored and cannot be shown
    /// again. Throws `TokenError` when the scope does not fit the role.
    public func create(
        role: Role, scope: String?, label: String?, focalPoint: Bool = false, owner: String? = nil,
        expiresIn: Duration = TokenStore.defaultLifetime
    ) async throws -> (principal: Principal, secret: String) {
        try Self.checkScope(scope, for: role)
        guard !focalPoint || role == .programme else { throw TokenError.focalPointNotAProgramme(role) }
        var principal = Principal(
            tokenID: UUID(), role: role, scope: scope, label: label, focalPoint: focalPoint, owner: owner)
        let secret = Self.newSecret()
        let seconds = Double(expiresIn.components.seconds)
        let rows = try await self.client.query(
            """
            INSERT INTO api_tokens (id, token_hash, role, scope, label, focal_point, owner, expires_at)
            VALUES (\(principal.tokenID), \(ByteBuffer(bytes: Self.hash(secret))), \(role.rawValue), \(scope), \(label),
                    \(focalPoint), \(owner), now() + \(seconds) * interval '1 second')
            RETURNING expires_at
            """, logger: self.logger)
        for try await expiry in rows.decode(Date.self) { principal.expiresAt = expiry }
        self.logger.info(
            "created API token",
            metadata: ["token": "\(principal.metadataActor)", "role": "\(role.rawValue)", "scope": "\(scope ?? "-")"])
        return (principal, secret)
    }

    /// The caller a secret authenticates as; nil when the secret is malformed, unknown or revoked. The lookup is by
    /// the secret's hash, so no comparison of secrets takes place (and none can leak timing).
    public func authenticate(_ secret: String) async throws -> Principal? {
        guard Self.isWellFormed(secret) else { return nil }
        let hash = Self.hash(secret)
        let cached = self.cache?.lookup(hash)
        if let principal = cached?.principal { return principal }
        let found = try await self.lookup(hash)
        if let found, let generation = cached?.generation {
            self.cache?.store(found, for: hash, generation: generation)
        }
        return found
    }

    private func lookup(_ hash: [UInt8]) async throws -> Principal? {
        let rows = try await self.client.query(
            """
            SELECT id, role, scope, label, focal_point, owner, expires_at FROM api_tokens
            WHERE token_hash = \(ByteBuffer(bytes: hash)) AND revoked_at IS NULL AND expires_at > now()
            """, logger: self.logger)
        var found: Principal?
        let columns = (UUID, String, String?, String?, Bool, String?, Date).self
        for try await (id, role, scope, label, focalPoint, owner, expiresAt) in rows.decode(columns) {
            found = try Self.principal(id: id, role: role, scope: scope, label: label)
            found?.focalPoint = focalPoint
            found?.owner = owner
            found?.expiresAt = expiresAt
        }
        return found
    }

    /// Revokes a token for good; false when there is no such token or it was already revoked.
    public func revoke(_ id: UUID) async throws -> Bool {
        let result = try await self.client.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE id = \(id) AND revoked_at IS NULL RETURNING id",
            logger: self.logger)
        let revoked = !result.rows.isEmpty
        if revoked { self.logger.info("revoked API token", metadata: ["token": "\(id)"]) }
        return revoked
    }

    /// Every token, revoked or not, oldest first. Holds no secrets and no hashes.
    public func list() async throws -> [(principal: Principal, createdAt: Date, revokedAt: Date?)] {
        let rows = try await self.client.query(
            """
            SELECT id, role, scope, label, created_at, revoked_at, focal_point, owner, expires_at FROM api_tokens
            ORDER BY created_at, id
            """,
            logger: self.logger)
        var tokens: [(principal: Principal, createdAt: Date, revokedAt: Date?)] = []
        let columns = (UUID, String, String?, String?, Date, Date?, Bool, String?, Date).self
        for try await (id, role, scope, label, createdAt, revokedAt, focal, owner, expiresAt) in rows.decode(columns) {
            var principal = try Self.principal(id: id, role: role, scope: scope, label: label)
            principal.focalPoint = focal
            principal.owner = owner
            principal.expiresAt = expiresAt
            tokens.append((principal, createdAt, revokedAt))
        }
        return tokens
    }

    /// Refuses a missing (or empty) scope for a role that needs one, and any scope for a role that does not.
    public static func checkScope(_ scope: String?, for role: Role) throws(TokenError) {
        let hasScope = scope.map { !$0.isEmpty } ?? false
        if role.needsScope && !hasScope { throw .scopeRequired(role) }
        if !role.needsScope && scope != nil { throw .scopeNotAllowed(role) }
    }

    // MARK: Secrets

    static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let base64url = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return Self.secretPrefix + base64url
    }

    /// The prefix, then exactly 43 base64url characters; anything else is not worth a database lookup.
    static func isWellFormed(_ secret: String) -> Bool {
        guard secret.hasPrefix(Self.secretPrefix) else { return false }
        let encoded = secret.utf8.dropFirst(Self.secretPrefix.utf8.count)
        return encoded.count == Self.encodedSecretLength && encoded.allSatisfy(Self.isBase64URL)
    }

    private static func isBase64URL(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }

    /// SHA-256 of the secret's UTF-8 bytes: what `api_tokens.token_hash` holds.
    public static func hash(_ secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(secret.utf8)))
    }

    private static func principal(
        id: UUID, role: String, scope: String?, label: String?
    ) throws(TokenError)
        -> Principal
    {
        guard let role = Role(rawValue: role) else { throw .unknownStoredRole(role) }
        return Principal(tokenID: id, role: role, scope: scope, label: label)
    }
}
