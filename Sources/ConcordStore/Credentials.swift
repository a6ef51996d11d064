import ConcordCore

/// One authentication for every caller: an API token (machines) or a user's session secret (people), told apart by
/// the secret's prefix, both cached in one `TokenCache` and both ended on every node by one notification channel.
public struct Credentials: Sendable {
    public let tokens: TokenStore
    public let sessions: SessionStore

    public init(tokens: TokenStore, sessions: SessionStore) {
        self.tokens = tokens
        self.sessions = sessions
    }

    public func caching(in cache: TokenCache) -> Credentials {
        Credentials(tokens: self.tokens.caching(in: cache), sessions: self.sessions.caching(in: cache))
    }

    /// The caller `secret` stands for; nil when it is malformed, unknown, revoked, signed out or expired.
    public func authenticate(_ secret: String) async throws -> Principal? {
        if secret.hasPrefix(SessionStore.secretPrefix) { return try await self.sessions.authenticate(secret) }
        return try await self.tokens.authenticate(secret)
    }
}
