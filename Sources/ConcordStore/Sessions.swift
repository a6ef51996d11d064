import ConcordCore
import Crypto
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// How sign-in behaves: bcrypt's cost, how long sessions last, and how failures slow and lock a login.
public struct SignInSettings: Sendable, Hashable {
    public var bcryptCost: UInt8 = 12
    /// A session not used for this long ends.
    public var sessionIdle: Duration = .seconds(30 * 60)
    /// A session ends this long after sign-in, used or not.
    public var sessionLifetime: Duration = .seconds(12 * 3600)
    /// After this many failures in a row, each further attempt must wait `delay`, doubled per failure (at most a
    /// minute) after the last failure.
    public var failuresBeforeDelay = 3
    public var delay: Duration = .seconds(1)
    /// After this many failures in a row, the login is locked for `lockDuration`.
    public var failuresBeforeLock = 10
    public var lockDuration: Duration = .seconds(15 * 60)

    public init() {}

    /// The settings from `CONCORD_BCRYPT_COST`, `CONCORD_SESSION_IDLE_SECONDS`, `CONCORD_SESSION_LIFETIME_SECONDS`,
    /// `CONCORD_SIGN_IN_DELAY_AFTER`, `CONCORD_SIGN_IN_LOCK_AFTER` and `CONCORD_SIGN_IN_LOCK_SECONDS`.
    public static func from(environment: [String: String]) throws(SettingsError) -> SignInSettings {
        var settings = SignInSettings()
        func number(_ name: String, _ range: ClosedRange<Int>) throws(SettingsError) -> Int? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            guard let value = Int(text), range.contains(value) else {
                throw SettingsError(
                    message: "\(name) takes a whole number from \(range.lowerBound) to \(range.upperBound), not \(text)"
                )
            }
            return value
        }
        if let cost = try number("CONCORD_BCRYPT_COST", 4...31) { settings.bcryptCost = UInt8(cost) }
        if let idle = try number("CONCORD_SESSION_IDLE_SECONDS", 1...31_536_000) {
            settings.sessionIdle = .seconds(idle)
        }
        if let lifetime = try number("CONCORD_SESSION_LIFETIME_SECONDS", 1...31_536_000) {
            settings.sessionLifetime = .seconds(lifetime)
        }
        if let after = try number("CONCORD_SIGN_IN_DELAY_AFTER", 1...1_000) { settings.failuresBeforeDelay = after }
        if let after = try number("CONCORD_SIGN_IN_LOCK_AFTER", 1...1_000) { settings.failuresBeforeLock = after }
        if let lock = try number("CONCORD_SIGN_IN_LOCK_SECONDS", 1...86_400) { settings.lockDuration = .seconds(lock) }
        return settings
    }

    /// How long to wait after the `failures`-th failure in a row before the next attempt.
    func wait(after failures: Int) -> Duration {
        guard failures >= self.failuresBeforeDelay else { return .zero }
        let doublings = min(failures - self.failuresBeforeDelay, 16)
        return min(self.delay * (1 << doublings), .seconds(60))
    }
}

public struct SettingsError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public var description: String { self.message }
}

/// The answer to a sign-in. A refusal never says whether the login exists or the password was wrong.
public enum SignInResult: Sendable {
    case signedIn(secret: String, principal: Principal)
    case refused
    /// Too many failures for this login: try again after `retryAfter`.
    case throttled(retryAfter: Duration)
}

/// Sessions in `sessions` (sql/0011_users_and_sessions.sql), shared by every node: sign-in with lockout, the
/// principal a session secret stands for, sign-out.
public struct SessionStore: Sendable {
    /// What every session secret starts with (API tokens' `concord_` and 43 characters are told apart by it).
    public static let secretPrefix = "concord_session_"

    let client: PostgresClient
    let logger: Logger
    public let settings: SignInSettings
    let cache: TokenCache?
    private let dummy: DummyHash

    public init(client: PostgresClient, logger: Logger, settings: SignInSettings = SignInSettings()) {
        self.init(client: client, logger: logger, settings: settings, cache: nil, dummy: DummyHash())
    }

    private init(
        client: PostgresClient, logger: Logger, settings: SignInSettings, cache: TokenCache?, dummy: DummyHash
    ) {
        self.client = client
        self.logger = logger
        self.settings = settings
        self.cache = cache
        self.dummy = dummy
    }

    /// The same store, keeping the principals it authenticates in `cache`.
    public func caching(in cache: TokenCache) -> SessionStore {
        SessionStore(client: self.client, logger: self.logger, settings: self.settings, cache: cache, dummy: self.dummy)
    }

    // MARK: Sign-in

    /// Signs `login` in with `password`. Failures are counted per login as typed (known or not) in PostgreSQL, so
    /// every node slows and locks the same logins; an unknown login costs a bcrypt check too, so that time does
    /// not tell it apart.
    public func signIn(login: String, password: String) async throws -> SignInResult {
        // No login is longer than 64 characters; the cut keeps a huge one within the index's row size.
        let key = String(login.lowercased().prefix(128))
        if let wait = try await self.throttle(key) { return .throttled(retryAfter: wait) }
        let found = try await self.credentials(key)
        var hash = found?.hash ?? ""
        if found == nil { hash = try await self.dummy.value(cost: self.settings.bcryptCost) }
        let matches = try await Passwords.verify(password, hash: hash)
        guard let user = found?.user, user.active, matches else {
            try await self.recordFailure(key)
            return .refused
        }
        try await self.client.execute("DELETE FROM sign_in_failures WHERE login_key = \(key)", logger: self.logger)
        let secret = Self.newSecret()
        let lifetime = Double(self.settings.sessionLifetime.components.seconds)
        let id = UUID()
        let rows = try await self.client.query(
            """
            INSERT INTO sessions (id, secret_hash, user_id, expires_at)
            VALUES (\(id), \(ByteBuffer(bytes: TokenStore.hash(secret))), \(user.id),
                    now() + \(lifetime) * interval '1 second')
            RETURNING expires_at
            """, logger: self.logger)
        var expiresAt: Date?
        for try await expiry in rows.decode(Date.self) { expiresAt = expiry }
        self.logger.info("signed in", metadata: ["user": "\(user.login)", "session": "\(id)"])
        return .signedIn(secret: secret, principal: Self.principal(session: id, user: user, expiresAt: expiresAt))
    }

    private func credentials(_ key: String) async throws -> (user: User, hash: String)? {
        let rows = try await self.client.query(
            "SELECT \(unescaped: UserStore.columns), password_hash FROM users WHERE lower(login) = \(key)",
            logger: self.logger)
        let columns = (UUID, String, String, String, String?, Bool, Bool, Date, Date, String).self
        for try await (id, login, name, role, scope, focal, active, created, updated, hash) in rows.decode(columns) {
            guard let role = Role(rawValue: role) else { throw UserRefusal.unknownStoredRole(role) }
            let user = User(
                id: id, login: login, name: name, role: role, scope: scope, focalPoint: focal, active: active,
                createdAt: created, updatedAt: updated)
            return (user, hash)
        }
        return nil
    }

    /// How long the login must wait before it may try again; nil when it may try now.
    private func throttle(_ key: String) async throws -> Duration? {
        let rows = try await self.client.query(
            """
            SELECT failures, extract(epoch FROM last_failure_at - now())::float8,
                   extract(epoch FROM coalesce(locked_until, now()) - now())::float8
            FROM sign_in_failures WHERE login_key = \(key)
              AND last_failure_at > now() - \(Double(self.settings.lockDuration.components.seconds)) * interval '1 second'
            """, logger: self.logger)
        for try await (failures, sinceLast, locked) in rows.decode((Int, Double, Double).self) {
            if locked > 0 { return .milliseconds(Int(locked * 1000)) }
            let wait = self.settings.wait(after: failures) + .milliseconds(Int(sinceLast * 1000))
            if wait > .zero { return wait }
        }
        return nil
    }

    /// Counts one more failure for the login; locks it once there are enough. A failure after a quiet period as
    /// long as the lock counts from one again.
    private func recordFailure(_ key: String) async throws {
        let quiet = Double(self.settings.lockDuration.components.seconds)
        try await self.client.execute(
            """
            INSERT INTO sign_in_failures AS f (login_key, failures, last_failure_at)
            VALUES (\(key), 1, now())
            ON CONFLICT (login_key) DO UPDATE SET
                failures = CASE WHEN f.last_failure_at < now() - \(quiet) * interval '1 second' THEN 1
                                ELSE f.failures + 1 END,
                last_failure_at = now(),
                locked_until = CASE WHEN f.last_failure_at >= now() - \(quiet) * interval '1 second'
                                         AND f.failures + 1 >= \(self.settings.failuresBeforeLock)
                                    THEN now() + \(quiet) * interval '1 second' ELSE NULL END
            """, logger: self.logger)
        // Failures of long ago are forgotten now and then, so that guessed logins do not pile up.
        if Int.random(in: 0..<100) == 0 {
            try await self.client.execute(
                "DELETE FROM sign_in_failures WHERE last_failure_at < now() - interval '1 day'", logger: self.logger)
        }
    }

    // MARK: Sessions

    /// The principal a session secret stands for; nil when it is malformed, unknown, signed out, expired (idle or
    /// absolute) or its user deactivated. Each lookup moves the idle expiry on; the cache keeps a session at most
    /// a minute (a quarter of the idle time when shorter) between lookups.
    public func authenticate(_ secret: String) async throws -> Principal? {
        guard Self.isWellFormed(secret) else { return nil }
        let hash = TokenStore.hash(secret)
        let cached = self.cache?.lookup(hash)
        if let principal = cached?.principal { return principal }
        let idle = Double(self.settings.sessionIdle.components.seconds)
        let rows = try await self.client.query(
            """
            UPDATE sessions s SET last_seen_at = now()
            FROM users u
            WHERE s.secret_hash = \(ByteBuffer(bytes: hash)) AND s.ended_at IS NULL AND s.expires_at > now()
              AND s.last_seen_at > now() - \(idle) * interval '1 second' AND u.id = s.user_id AND u.active
            RETURNING s.id, s.expires_at, u.id, u.login, u.display_name, u.role, u.scope, u.focal_point,
                      u.active, u.created_at, u.updated_at
            """, logger: self.logger)
        let columns = (UUID, Date, UUID, String, String, String, String?, Bool, Bool, Date, Date).self
        var found: Principal?
        for try await (session, expires, id, login, name, role, scope, focal, active, created, updated)
            in rows.decode(columns)
        {
            guard let role = Role(rawValue: role) else { throw UserRefusal.unknownStoredRole(role) }
            let user = User(
                id: id, login: login, name: name, role: role, scope: scope, focalPoint: focal, active: active,
                createdAt: created, updatedAt: updated)
            found = Self.principal(session: session, user: user, expiresAt: expires)
        }
        if let found, let generation = cached?.generation {
            let keep = min(.seconds(60), self.settings.sessionIdle / 4)
            self.cache?.store(found, for: hash, generation: generation, notAfter: ContinuousClock.now + keep)
        }
        return found
    }

    /// Ends a session on every node; false when it had ended already.
    public func end(_ session: UUID) async throws -> Bool {
        let rows = try await self.client.query(
            "UPDATE sessions SET ended_at = now() WHERE id = \(session) AND ended_at IS NULL RETURNING id",
            logger: self.logger)
        var ended = false
        for try await _ in rows.decode(UUID.self) { ended = true }
        return ended
    }

    static func principal(session: UUID, user: User, expiresAt: Date?) -> Principal {
        Principal(
            tokenID: session, role: user.role, scope: user.scope, label: nil, focalPoint: user.focalPoint,
            user: user.identity, expiresAt: expiresAt)
    }

    // MARK: Secrets

    static func newSecret() -> String {
        Self.secretPrefix + TokenStore.newSecret().dropFirst(TokenStore.secretPrefix.count)
    }

    public static func isWellFormed(_ secret: String) -> Bool {
        guard secret.hasPrefix(Self.secretPrefix) else { return false }
        return TokenStore.isWellFormed(TokenStore.secretPrefix + secret.dropFirst(Self.secretPrefix.count))
    }
}

/// A bcrypt hash of nothing anyone knows, made once per process: checked when the login is unknown, so that an
/// unknown login takes as long as a wrong password.
final class DummyHash: Sendable {
    private let hash = Mutex<(cost: UInt8, value: String)?>(nil)

    func value(cost: UInt8) async throws -> String {
        if let known = self.hash.withLock({ $0 }), known.cost == cost { return known.value }
        let value = try await Passwords.hash(UUID().uuidString, cost: cost)
        self.hash.withLock { $0 = (cost, value) }
        return value
    }
}
