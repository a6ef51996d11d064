import ConcordCore
import ConcordStore
import ConcordTestSupport
import Foundation
import HummingbirdTesting
import PostgresNIO
import Testing

/// Tokens are cached by every node; a revocation made anywhere (here by the owner, as `concord token revoke`
/// does) reaches every node's cache through `concord_tokens` notifications.
@Suite(.timeLimit(.minutes(2))) struct TokenCacheTests {
    @Test func aRevokedTokenIsRefusedByEveryNodeThatCachedIt() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let (principal, secret) = try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) {
            try await TokenStore(client: $0, logger: TestDatabases.logger).create(
                role: .auditor, scope: nil, label: "revoked in the test")
        }
        try await withApplication(settings: settings) { first in
            try await withApplication(settings: settings, importReference: false) { second in
                // Both nodes authenticate (and so cache) the token.
                for node in [first, second] {
                    #expect(try await node.send(.get, "/v1/audit/events?limit=1", token: secret).status == .ok)
                    #expect(try await node.send(.get, "/v1/audit/events?limit=1", token: secret).status == .ok)
                }
                let revoked = try await PostgresClient.withRunning(settings.owner, logger: TestDatabases.logger) {
                    try await TokenStore(client: $0, logger: TestDatabases.logger).revoke(principal.tokenID)
                }
                #expect(revoked)
                // The notification is asynchronous: each node refuses the token as soon as it arrives.
                for node in [first, second] {
                    try await poll(within: .seconds(10), "the node refuses the revoked token") {
                        try await node.send(.get, "/v1/audit/events?limit=1", token: secret).status == .unauthorized
                    }
                }
            }
        }
    }
}
