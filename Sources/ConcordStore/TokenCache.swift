import ConcordCore
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The principals this process has authenticated (API tokens and sessions), by the hash of their secret, so that a
/// request costs no lookup. Trusted only while `TokenRevocations` listens: a revocation, a sign-out or a change to a
/// user on any node notifies every node (the triggers of migrations 0009 and 0011), which empties the cache at once;
/// while not listening, every request reads the tables.
public final class TokenCache: Sendable {
    struct State {
        var listening = false
        /// Bumped by every emptying, so that a lookup that began before a revocation is not cached after it.
        var generation: UInt64 = 0
        var entries: [[UInt8]: (principal: Principal, until: ContinuousClock.Instant)] = [:]
    }

    private let state = Mutex(State())
    /// How long an entry is trusted even without a notification: a bound on any notification the listener missed.
    let lifetime: Duration

    public init(lifetime: Duration = .seconds(300)) {
        self.lifetime = lifetime
    }

    /// The cached principal for `hash`, and the generation to pass to `store` after a lookup when there is none.
    func lookup(_ hash: [UInt8]) -> (principal: Principal?, generation: UInt64?) {
        self.state.withLock { state in
            guard state.listening else { return (nil, nil) }
            if let entry = state.entries[hash], entry.until > .now { return (entry.principal, state.generation) }
            return (nil, state.generation)
        }
    }

    /// Keeps `principal` until the cache's lifetime, `notAfter` or the principal's expiry, whichever comes first.
    func store(
        _ principal: Principal, for hash: [UInt8], generation: UInt64, notAfter: ContinuousClock.Instant? = nil
    ) {
        let now = ContinuousClock.now
        var until = min(now + self.lifetime, notAfter ?? now + self.lifetime)
        if let expiry = principal.expiresAt {
            until = min(until, now + .milliseconds(Int64(expiry.timeIntervalSinceNow * 1000)))
        }
        self.state.withLock { state in
            guard state.listening, state.generation == generation else { return }
            if state.entries.count > 10_000 { state.entries.removeAll() }
            state.entries[hash] = (principal, until)
        }
    }

    /// Empties the cache; `listening` says whether it may fill again.
    func reset(listening: Bool) {
        self.state.withLock { state in
            state.listening = listening
            state.generation &+= 1
            state.entries.removeAll()
        }
    }
}

/// Keeps a connection LISTENing on `concord_tokens` and empties the token cache on every notification, and when the
/// connection is lost (notifications may have been missed) until it listens again.
public struct TokenRevocations: Service {
    public static let channel = "concord_tokens"
    let client: PostgresClient
    let cache: TokenCache
    let logger: Logger

    public init(client: PostgresClient, cache: TokenCache, logger: Logger) {
        self.client = client
        self.cache = cache
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var failures = 0
            while !Task.isCancelled {
                let began = ContinuousClock.now
                do {
                    try await self.client.withConnection { connection in
                        try await connection.listen(on: Self.channel) { notifications in
                            self.cache.reset(listening: true)
                            for try await _ in notifications { self.cache.reset(listening: true) }
                        }
                    }
                } catch {
                    if !Task.isCancelled {
                        self.logger.warning("token revocation listener lost", metadata: ["error": "\(error)"])
                    }
                }
                self.cache.reset(listening: false)
                failures = ContinuousClock.now - began > .seconds(30) ? 1 : failures + 1
                // Backoff with jitter, at most 5 s: every node must not reconnect in step after a restart.
                let ceiling = min(5_000, 100 << min(failures, 6))
                try? await Task.sleep(for: .milliseconds(Int.random(in: ceiling / 2...ceiling)))
            }
        }
        self.cache.reset(listening: false)
    }
}
