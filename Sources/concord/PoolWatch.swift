import ConcordStore
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Ends the process (non-zero, for systemd to start it again) when the database answers again but the connection
/// pool does not.
///
/// After a minute without a connection, PostgresNIO's pool trips its circuit breaker: it fails every request at once
/// and tries to connect less and less often, up to once a minute. After a long outage the service would stay
/// unavailable for up to that long after the database is back. A fresh process connects at once.
struct PoolWatch: Service {
    let client: PostgresClient
    /// How to reach the database without the pool: a fresh client for each probe.
    let configuration: PostgresClient.Configuration
    let logger: Logger
    var interval: Duration = .seconds(1)
    /// How long the pool may keep failing while the database answers.
    var patience: Duration = .seconds(3)

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await self.watch() }
        } catch is CancellationError {
            return
        }
    }

    private func watch() async throws {
        var stuckSince: ContinuousClock.Instant? = nil
        while true {
            try await Task.sleep(for: self.interval)
            guard await self.poolHasGivenUp(), await self.databaseAnswers() else {
                stuckSince = nil
                continue
            }
            let since = stuckSince ?? .now
            stuckSince = since
            if ContinuousClock.now - since >= self.patience {
                self.logger.error("the database answers again but the connection pool has given up; exiting")
                // Exit now, status 1: nothing can commit through this pool, and a group cancellation can overrun
                // its limit on a pool in this state (the library then crashes the process, status 4 instead of 1).
                exit(1)
            }
        }
    }

    /// Whether the pool refuses at once because its circuit breaker has tripped (a pool that is merely busy or still
    /// trying does not count).
    private func poolHasGivenUp() async -> Bool {
        do {
            _ = try await self.client.query("SELECT 1", acquiringWithin: .seconds(1), logger: self.logger)
            return false
        } catch {
            return String(reflecting: error).contains("CircuitBreakerTripped")
        }
    }

    private func databaseAnswers() async -> Bool {
        let quiet = {
            var quiet = self.logger
            quiet.logLevel = .critical
            return quiet
        }()
        let probe = try? await PostgresClient.withRunning(self.configuration, logger: quiet) { client in
            try await client.query("SELECT 1", acquiringWithin: .seconds(2), logger: quiet)
        }
        return probe != nil
    }
}
